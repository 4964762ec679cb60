/* cluster-internal: what the cluster controllers share: a controller base (work queue, writes
 * tracked per key, back-off of failed writes, resync, safe stop) and object helpers. */
#ifndef TUG_CONTROLLERS_CLUSTER_INTERNAL_H
#define TUG_CONTROLLERS_CLUSTER_INTERNAL_H

#include <cjson/cJSON.h>

#include "core/controllers/controllers.h"
#include "core/obj/obj.h"

#define CC_MAX_SUBS 48

/*
 * A controller's common part, embedded first in each controller.
 *
 * Keys are reconciled by sync() one at a time. A write made for a key is tracked until it
 * completes; while a key has writes in flight it is not synced again (the caches may not
 * show those writes yet), it is marked dirty and synced once they are done. A failed write
 * queues its key again with exponential back-off. stop() may come while writes are in
 * flight: the controller is freed by the last completion.
 */
struct cc_ctl {
	struct client *c;
	struct ctrl_informers *inf;
	struct ctrl_cluster_opts o; /* defaults filled */
	const char *component;      /* Event source: "endpointslice-controller" */
	struct workqueue *q;
	/* Reconciles key; returns 0, or -1 to retry it with back-off. */
	int (*sync)(struct cc_ctl *b, const char *key);
	/* Queues every key again (periodic resync); may be NULL. */
	void (*resync)(struct cc_ctl *b);
	/* Frees the controller (after cc_fini). */
	void (*destroy)(struct cc_ctl *b);
	struct strmap inflight; /* key -> writes in flight (as a count) */
	struct strmap dirty;    /* keys to sync again when their writes are done */
	struct strmap failures; /* key -> consecutive failed writes */
	struct loop_timer resync_timer;
	int subs[CC_MAX_SUBS];
	size_t nsubs;
	int pending; /* writes in flight, all keys */
	bool stopped;
};

/* Fills defaults into a copy of o (o may be NULL). */
void cc_opts_defaults(struct ctrl_cluster_opts *dst, const struct ctrl_cluster_opts *o);
void cc_init(struct cc_ctl *b, struct ctrl_informers *f, const struct ctrl_cluster_opts *o,
             const char *component);
/* Subscribes to kind (group, resource); -ENOENT when the kind is not served. */
int cc_watch(struct cc_ctl *b, const char *group, const char *resource,
             const struct informer_handlers *h);
/* Starts the resync timer (sync and resync must be set). */
void cc_start(struct cc_ctl *b);
/* Unsubscribes, stops the queue and timers; destroy() runs now or when the last write ends. */
void cc_stop(struct cc_ctl *b);
/* Frees the base's own state (called by destroy implementations). */
void cc_fini(struct cc_ctl *b);

void cc_enqueue(struct cc_ctl *b, const char *key);
void cc_enqueue_after(struct cc_ctl *b, const char *key, uint64_t ms);
/* The key of obj ("ns/name" or "name") queued. */
void cc_enqueue_obj(struct cc_ctl *b, const cJSON *obj);

/*
 * Completion of a tracked write: return 0 when the result is fine (or handled), 1 to sync
 * the key again at once (a conflict: the view was stale), -1 to retry it with back-off.
 * NULL uses the defaults: 2xx (and 404 for deletes) fine, 409 sync again, else back-off.
 * It also runs for writes that end after cc_stop (b->stopped is then set): it may free its
 * arg, but must not touch the informers, which may be gone.
 */
typedef int (*cc_then_fn)(struct cc_ctl *b, const char *key, int code, const char *msg, cJSON *obj,
                          void *arg);

/* Writes tracked under key; bodies are taken over. arg is passed to then. */
void cc_create(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
               cJSON *body, cc_then_fn then, void *arg);
void cc_update(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
               const char *name, const char *sub, cJSON *body, cc_then_fn then, void *arg);
void cc_patch(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
              const char *name, const char *sub, cJSON *patch, cc_then_fn then, void *arg);
void cc_delete(struct cc_ctl *b, const char *key, const struct reg_kind *k, const char *ns,
               const char *name, int64_t grace, const char *propagation, const char *uid,
               cc_then_fn then, void *arg);
/* Whether key has writes in flight. */
bool cc_busy(struct cc_ctl *b, const char *key);

/* --- object helpers ------------------------------------------------------------------- */

/* informer_get and informer_each that accept a NULL informer (a kind not watched yet: a
 * handler may run while its controller is still subscribing). */
const cJSON *cc_get(struct informer *inf, const char *ns, const char *name);
void cc_each(struct informer *inf, int (*fn)(void *arg, const cJSON *obj), void *arg);

/* "ns/name" split into ns (NULL for cluster-scoped keys) and name, in buf. */
void cc_split_key(const char *key, char *buf, size_t n, const char **ns, const char **name);
const char *cc_name(const cJSON *obj);
const char *cc_ns(const cJSON *obj);
const char *cc_uid(const cJSON *obj);
bool cc_deleting(const cJSON *obj);
bool cc_has_finalizer(const cJSON *obj, const char *f);
/* The named condition in status.conditions, or NULL. */
const cJSON *cc_condition(const cJSON *obj, const char *type);
/* Whether the pod's Ready condition is True. */
bool cc_pod_ready(const cJSON *pod);
/* Succeeded or Failed. */
bool cc_pod_terminal(const cJSON *pod);
/* Unix seconds of an RFC 3339 field at path, or false. */
bool cc_time(const cJSON *obj, const char *path, int64_t *sec);
/* An ownerReference to owner (controller and blockOwnerDeletion true). */
cJSON *cc_owner_ref(const cJSON *owner);
/* client_kind that never fails silently: NULL only for kinds not served. */
const struct reg_kind *cc_kind(const char *group, const char *resource);

/* Whether a service port (targetPort number or name) resolves on pod; *port gets it. */
bool cc_find_port(const cJSON *pod, const cJSON *svc_port, int *port);
/* The pod's address of family "IPv4" or "IPv6" (status.podIPs, else status.podIP), or NULL. */
const char *cc_pod_ip(const cJSON *pod, const char *family);
/* Whether the Service selects pods (a non-empty spec.selector and not ExternalName). */
bool cc_service_selects(const cJSON *svc);
/* Calls fn for each Service in pod's namespace whose selector matches labels (old or new). */
void cc_services_for_pod(struct informer *services, const cJSON *pod,
                         void (*fn)(void *arg, const cJSON *svc), void *arg);

/* Whether tolerations (a pod's spec.tolerations) tolerate taint; as upstream's ToleratesTaint. */
bool cc_tolerates(const cJSON *toleration, const cJSON *taint);

#endif
