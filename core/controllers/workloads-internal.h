/* workloads-internal: what the workload controllers share (prefix wl_): informers and owner
 * indexes, writes that keep informers honest, expectations, slow-start batches, pod helpers. */
#ifndef TUG_CONTROLLERS_WORKLOADS_INTERNAL_H
#define TUG_CONTROLLERS_WORKLOADS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/client/client.h"
#include "core/controllers/controllers.h"
#include "core/obj/obj.h"

/* The resources the controllers watch. */
enum wl_res {
	WL_PODS,
	WL_NODES,
	WL_RS,
	WL_DEPLOY,
	WL_DS,
	WL_STS,
	WL_CR,
	WL_JOBS,
	WL_CJ,
	WL_PVCS,
	WL_NRES
};

/* Objects of one resource by the uid of their controller (ownerReference controller: true),
 * and those without one (orphans), as sets of "ns/name" keys. */
struct wl_index {
	struct strmap by_uid; /* uid -> struct strmap* (key -> (void *)1) */
	struct strmap orphans;
};

/*
 * Expectations (upstream's ControllerExpectations): the creates and deletes a controller has
 * asked for and not yet seen in its informer. While some are outstanding the controller does
 * not count pods again, so it never creates twice for one shortfall. Records expire after five
 * minutes, in case an event was lost.
 */
struct wl_expect {
	struct strmap m; /* controller key -> struct wl_exp_rec* */
};

struct wl_ctl;
struct wl;

/* What the shared informer handlers get: which resource of which set of controllers. */
struct wl_res_arg {
	struct wl *w;
	enum wl_res r;
};

struct wl {
	struct client *c;
	struct loop *loop;
	int64_t (*now_fn)(void *arg);
	void *now_arg;
	uint64_t resync_ms;
	unsigned which;
	struct informer *inf[WL_NRES];
	const struct reg_kind *kind[WL_NRES];
	struct wl_index idx[WL_NRES];
	struct wl_res_arg hargs[WL_NRES];
	/* "<res>/<ns>/<name>" -> (uintptr_t) resourceVersion of our last write: until the
	 * informer has caught up with it, the cached object is stale. */
	struct strmap fresh;
	struct wl_ctl *ctl[6]; /* by CONTROLLERS_* bit number */
	struct loop_timer resync;
	unsigned pending; /* writes in flight */
	bool stopping;
};

/* --- controllers -------------------------------------------------------------------- */

/* The part every controller has: its name (as in events), queue and sync. */
struct wl_ctl {
	struct wl *w;
	const char *name;
	struct workqueue *q;
	/* 0: done; -1: retry the key with back-off. */
	int (*sync)(struct wl_ctl *c, const char *key);
	/* Queues every object the controller owns (periodic resync). */
	void (*resync)(struct wl_ctl *c);
	void (*free)(struct wl_ctl *c);
};

/* Each controller file: makes its controller, adds its informer handlers. */
struct wl_ctl *wl_replicaset_new(struct wl *w);
struct wl_ctl *wl_deployment_new(struct wl *w);
struct wl_ctl *wl_daemonset_new(struct wl *w);
struct wl_ctl *wl_statefulset_new(struct wl *w);
struct wl_ctl *wl_job_new(struct wl *w);
struct wl_ctl *wl_cronjob_new(struct wl *w);

/* Sets up c's queue (named after c->name) calling c->sync once the informers have synced. */
void wl_ctl_init(struct wl_ctl *c, struct wl *w, const char *name);
void wl_ctl_destroy(struct wl_ctl *c);
void wl_enqueue(struct wl_ctl *c, const cJSON *obj);
void wl_enqueue_key(struct wl_ctl *c, const char *key);
void wl_enqueue_after(struct wl_ctl *c, const char *key, uint64_t ms);
/* Queues every cached object of r. */
void wl_enqueue_all(struct wl_ctl *c, enum wl_res r);

/* --- reading the caches ------------------------------------------------------------- */

int64_t wl_now_ms(const struct wl *w);
static inline int64_t wl_now_s(const struct wl *w)
{
	return wl_now_ms(w) / 1000;
}
const cJSON *wl_get(const struct wl *w, enum wl_res r, const char *ns, const char *name);
const cJSON *wl_get_key(const struct wl *w, enum wl_res r, const char *key);
/* Objects controlled by uid / orphans in ns, into a new array (caller frees *out). */
size_t wl_owned(const struct wl *w, enum wl_res r, const char *uid, const cJSON ***out);
size_t wl_orphans(const struct wl *w, enum wl_res r, const char *ns, const cJSON ***out);
/* Every cached object of r (caller frees *out). */
size_t wl_all(const struct wl *w, enum wl_res r, const cJSON ***out);
/* Cached objects of r in ns whose label selector (at sel_path) matches labels. */
size_t wl_selecting(const struct wl *w, enum wl_res r, const char *ns, const char *sel_path,
                    const cJSON *labels, const cJSON ***out);
/* True while obj in the cache is older than our last write to it. */
bool wl_stale(struct wl *w, enum wl_res r, const cJSON *obj);

/* --- writes --------------------------------------------------------------------------- */

/* Called when a write ends. Also called after the controllers stopped: check w->stopping
 * before touching controller state, and free arg either way. */
typedef void (*wl_done_fn)(struct wl *w, void *arg, int code, const char *msg, cJSON *obj);

/* body/patch are taken over. fn may be NULL. */
void wl_create(struct wl *w, enum wl_res r, const char *ns, cJSON *body, wl_done_fn fn, void *arg);
/* PUT with the body's resourceVersion: 409 when the cache was stale. sub: NULL or "status". */
void wl_update(struct wl *w, enum wl_res r, const char *sub, cJSON *body, wl_done_fn fn, void *arg);
void wl_patch(struct wl *w, enum wl_res r, const char *ns, const char *name, const char *sub,
              cJSON *patch, wl_done_fn fn, void *arg);
/* uid: delete only that incarnation. propagation: NULL or "Background", ... */
void wl_delete(struct wl *w, enum wl_res r, const char *ns, const char *name, const char *uid,
               const char *propagation, wl_done_fn fn, void *arg);
/*
 * Writes status (taken over) as obj's status unless it is what obj has: a merge patch of the
 * status subresource that also removes the fields status dropped. Returns true if it wrote.
 * A failed write queues c's key again.
 */
bool wl_write_status(struct wl_ctl *c, enum wl_res r, const cJSON *obj, cJSON *status);
/* The merge patch ({"status": ...}) that turns obj's status into status (taken over), or NULL
 * when they are the same. */
cJSON *wl_status_patch(const cJSON *obj, cJSON *status);
/* A done callback that requeues the key (arg: strdup'ed "ns/name", freed) of c after a
 * failure, and frees arg. wl_requeue_arg makes that arg. */
struct wl_requeue;
struct wl_requeue *wl_requeue_arg(struct wl_ctl *c, const char *key);
void wl_requeue_on_failure(struct wl *w, void *arg, int code, const char *msg, cJSON *obj);

/*
 * Slow start, as upstream: creates bodies (taken over) in batches of 1, 2, 4, ..., each batch
 * once the one before has finished without a failure; after a failure the rest are skipped.
 * item is called for each create that ran, end once with the counts.
 */
typedef void (*wl_item_fn)(struct wl *w, void *arg, int code, const char *msg, cJSON *obj);
typedef void (*wl_end_fn)(struct wl *w, void *arg, size_t ok, size_t failed, size_t skipped,
                          const char *first_error);
void wl_create_batched(struct wl *w, enum wl_res r, const char *ns, cJSON **bodies, size_t n,
                       wl_item_fn item, wl_end_fn end, void *arg);

/* --- ownership ------------------------------------------------------------------------ */

/* The controller ownerReference of obj, or NULL. */
const cJSON *wl_controller_ref(const cJSON *obj);
/* An ownerReference to owner with controller and blockOwnerDeletion true (caller frees). */
cJSON *wl_owner_ref(const cJSON *owner, const char *api_version, const char *kind);
/* The cached owner of kind r that obj's controller ref names (same uid), or NULL. */
const cJSON *wl_resolve_owner(const struct wl *w, enum wl_res r, const char *kind,
                              const cJSON *obj);

/*
 * Upstream's ControllerRefManager: the objects of r that owner controls, after adopting the
 * orphans in its namespace that sel matches (not while owner is being deleted, and never an
 * object being deleted) and releasing the ones sel no longer matches. The writes run in the
 * background; a failure queues owner again. Returns the count and a new array in *out.
 */
size_t wl_claim(struct wl_ctl *c, enum wl_res r, const cJSON *owner, const char *api_version,
                const char *kind, const struct sel *sel, const cJSON ***out);

/* --- expectations --------------------------------------------------------------------- */

bool wl_exp_satisfied(struct wl_expect *e, const char *key, uint64_t mono_ms);
void wl_exp_expect_creates(struct wl_expect *e, const char *key, int n, uint64_t mono_ms);
void wl_exp_expect_deletes(struct wl_expect *e, const char *key, const char *const *pods, size_t n,
                           uint64_t mono_ms);
/* Both at once (daemon sets and jobs create and delete in one sync). */
void wl_exp_expect(struct wl_expect *e, const char *key, int creates, const char *const *pods,
                   size_t n, uint64_t mono_ms);
void wl_exp_created(struct wl_expect *e, const char *key);
/* One create (or n) will never be observed: it failed or was skipped. */
void wl_exp_create_failed(struct wl_expect *e, const char *key, int n);
void wl_exp_deleted(struct wl_expect *e, const char *key, const char *pod);
void wl_exp_forget(struct wl_expect *e, const char *key);
void wl_exp_free(struct wl_expect *e);

/* --- pods ------------------------------------------------------------------------------ */

bool wl_pod_terminal(const cJSON *pod); /* Succeeded or Failed */
bool wl_deleting(const cJSON *obj);     /* has a deletionTimestamp */
/* Not terminal and not being deleted (upstream's IsPodActive). */
bool wl_pod_active(const cJSON *pod);
bool wl_pod_ready(const cJSON *pod);
/* Ready for at least min_ready seconds at now (seconds). */
bool wl_pod_available(const cJSON *pod, int64_t min_ready, int64_t now);
/* Seconds until pod becomes available, or -1 (not ready, or already available). */
int64_t wl_pod_until_available(const cJSON *pod, int64_t min_ready, int64_t now);
bool wl_pod_running_ready(const cJSON *pod);
int64_t wl_pod_restarts(const cJSON *pod);
/* A new pod (caller frees) from a PodTemplateSpec, as upstream's GetPodFromTemplate: the
 * template's labels, annotations and finalizers and spec, a controller reference to owner. */
cJSON *wl_pod_from_template(const cJSON *tmpl, const cJSON *owner, const char *api_version,
                            const char *kind);
/* Sorts pods into the order in which a controller deletes them (upstream's ranking: unassigned,
 * pending, not ready, lower deletion cost, doubled up on a node, ready for less time, more
 * restarts, newer). related: pods whose placement counts for "doubled up" (may be NULL). */
void wl_pods_sort_for_deletion(const cJSON **pods, size_t n, const cJSON *const *related,
                               size_t nrelated, int64_t now);
/* Whether the taint is tolerated by one of tolerations (a JSON array). */
bool wl_tolerates(const cJSON *tolerations, const cJSON *taint);

/* --- small helpers ----------------------------------------------------------------------- */

const char *wl_str(const cJSON *o, const char *path); /* "" when absent */
int64_t wl_int(const cJSON *o, const char *path, int64_t def);
/* A metav1.Time at path as unix seconds, or def. */
int64_t wl_time(const cJSON *o, const char *path, int64_t def);
void wl_time_str(int64_t sec, char out[32]);
/* An IntOrString (int, or "N%" of total rounded up or down), or def when absent/invalid. */
int64_t wl_int_or_percent(const cJSON *v, int64_t total, bool round_up, int64_t def);
/* "ns/name" of obj. */
void wl_key(const cJSON *obj, char *out, size_t n);
/* Splits "ns/name" into its parts (into buffers of at least 256 bytes). */
bool wl_split_key(const char *key, char *ns, char *name);
/* Label selector at path of obj (NULL on error or when missing; logs nothing). */
struct sel *wl_selector(const cJSON *obj, const char *path);
/* A label value map lookup: labels[key] or NULL. */
const char *wl_label(const cJSON *obj, const char *key);
/* Sets metadata.labels[key] / annotations[key] (creating the map). */
void wl_set_label(cJSON *obj, const char *key, const char *val);
void wl_set_annotation(cJSON *obj, const char *key, const char *val);

/* Upstream's ComputeHash: FNV-1a over the object (here its canonical JSON) and the collision
 * count, written with the alphabet of generated names (SafeEncodeString) into out. */
void wl_hash(const cJSON *v, int64_t collision_count, char out[16]);

/* What a ControllerRevision of a DaemonSet or StatefulSet holds: a strategic merge patch that
 * puts obj's pod template back ({"spec":{"template":{..., "$patch":"replace"}}}), which is
 * also what kubectl rollout undo applies. */
cJSON *wl_history_patch(const cJSON *obj);

/* Conditions in status.conditions, as upstream's helpers: set leaves a condition with the same
 * status and reason alone, and keeps lastTransitionTime while the status is the same.
 * with_update_time adds lastUpdateTime (deployments); probe_time lastProbeTime (jobs). */
const cJSON *wl_cond_get(const cJSON *status, const char *type);
void wl_cond_set(cJSON *status, const char *type, const char *cstatus, const char *reason,
                 const char *message, int64_t now, bool with_update_time);
void wl_cond_remove(cJSON *status, const char *type);
bool wl_cond_true(const cJSON *status, const char *type);

/* Records an event about obj (as component c->name). */
void wl_event(struct wl_ctl *c, const cJSON *obj, const char *type, const char *reason,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* --- cron schedules (cron.c) ------------------------------------------------------------- */

/* A parsed standard cron schedule: five fields as bit sets, or an @every interval. */
struct wl_cron {
	uint64_t minute, hour, dom, month, dow; /* bit n: value n; bit 63: the field was "*" */
	int64_t every_s;                        /* @every: seconds between runs (else 0) */
};

/* Parses "m h dom mon dow" (numbers, names JAN-DEC/SUN-SAT, *, ?, a-b, /step, lists) and the
 * descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every <d>,
 * as robfig/cron v3's standard parser (what upstream's CronJob controller uses). */
int wl_cron_parse(const char *spec, struct wl_cron *out, struct err *e);
/* The first scheduled time after t (unix seconds) in time zone tz (NULL or "": local time
 * of the process; "UTC", "Europe/Berlin", ...), or -1 when there is none within five years. */
int64_t wl_cron_next(const struct wl_cron *c, int64_t t, const char *tz);
/* The last scheduled time at or before t, or -1. */
int64_t wl_cron_prev(const struct wl_cron *c, int64_t t, const char *tz);
/* t as RFC 3339 in time zone tz ("2024-01-01T10:00:00+01:00", "...Z" at offset 0). */
void wl_cron_format(int64_t t, const char *tz, char out[40]);
/* Whether tz names a time zone this system knows. */
bool wl_tz_valid(const char *tz);

#endif
