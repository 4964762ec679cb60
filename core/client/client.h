/* client: how the components inside tug (controllers, scheduler, kubelet, proxy) use the API:
 * the same list/watch/write semantics remote clients get over HTTP, without the HTTP. One
 * interface, two backends: in-process (tug server) and, later, HTTPS to a server (tug agent).
 * On top of it: informers (a watched, cached view of one resource) and work queues with
 * upstream's rate limiting, the building blocks of level-triggered controllers.
 * Everything runs on the event loop's thread. */
#ifndef TUG_CLIENT_H
#define TUG_CLIENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/api/api.h"
#include "core/loop/loop.h"
#include "core/registry/registry.h"

struct client;

/* A client that calls the API engine in this process, acting as user. */
struct client *client_local(struct api *a, struct loop *l, const char *user);
void client_free(struct client *c);
struct loop *client_loop(struct client *c);
/* The kind for group ("" for core) and plural resource, or NULL. */
const struct reg_kind *client_kind(const char *group, const char *resource);

/* --- writes: done gets the HTTP-like code, a message, and the stored object (borrowed) --- */

typedef void (*client_done_fn)(void *arg, int code, const char *message, cJSON *obj);

/* body is taken over in each call. done may be NULL (fire and forget). */
void client_create(struct client *c, const struct reg_kind *k, const char *ns, cJSON *body,
                   client_done_fn done, void *arg);
void client_update(struct client *c, const struct reg_kind *k, const char *ns, const char *name,
                   const char *sub, cJSON *body, client_done_fn done, void *arg);
/* A JSON merge patch (RFC 7386) applied to the current object, retried on conflicts. */
void client_merge_patch(struct client *c, const struct reg_kind *k, const char *ns,
                        const char *name, const char *sub, cJSON *patch, client_done_fn done,
                        void *arg);
/* grace: -1 for the object's default. propagation: NULL, "Background", "Foreground", "Orphan".
 * uid: delete only that incarnation (NULL: any). */
void client_delete(struct client *c, const struct reg_kind *k, const char *ns, const char *name,
                   int64_t grace, const char *propagation, const char *uid, client_done_fn done,
                   void *arg);
/* pods/binding: puts pod ns/name on node (409 when already bound). */
void client_bind(struct client *c, const char *ns, const char *name, const char *node,
                 client_done_fn done, void *arg);
/* pods/eviction: a graceful delete through the Eviction API. */
void client_evict(struct client *c, const char *ns, const char *name, client_done_fn done,
                  void *arg);

/* Reads the newest object (caller frees) or NULL (404). Local only: fast, no waiting. */
cJSON *client_get(struct client *c, const struct reg_kind *k, const char *ns, const char *name);
/*
 * Calls fn for every object of kind k in ns (every namespace when NULL) at the newest revision;
 * objects are borrowed, fn stops the walk by returning non-zero (which is returned). Local only,
 * like client_get: a controller reads back what it wrote before its informers have seen it.
 * Returns 0, fn's value, or a negative errno when the list failed.
 */
int client_list(struct client *c, const struct reg_kind *k, const char *ns,
                int (*fn)(void *arg, const cJSON *obj), void *arg);

/* --- informers ------------------------------------------------------------------ */

struct informer;

struct informer_handlers {
	void (*add)(void *arg, const cJSON *obj);
	void (*update)(void *arg, const cJSON *old, const cJSON *obj);
	void (*del)(void *arg, const cJSON *obj);
	void (*synced)(void *arg); /* once, after the first full list */
	void *arg;
};

/*
 * Watches kind k (in ns, or every namespace when NULL), keeping the matching objects in
 * memory and calling the handlers as they come, go and change. filter may be NULL. After a
 * 410 (fell behind compaction) it relists and reports the differences, as upstream's
 * reflector does. Several handler sets may be added.
 */
struct informer *informer_new(struct client *c, const struct reg_kind *k, const char *ns,
                              const struct api_filter *filter);
void informer_add_handlers(struct informer *inf, const struct informer_handlers *h);
int informer_start(struct informer *inf);
void informer_free(struct informer *inf);
bool informer_synced(const struct informer *inf);
/* Borrowed; valid until the next event for it. ns NULL for cluster-scoped kinds. */
const cJSON *informer_get(const struct informer *inf, const char *ns, const char *name);
/* Calls fn for every cached object (stop by returning non-zero). */
int informer_each(const struct informer *inf, int (*fn)(void *arg, const cJSON *obj), void *arg);
size_t informer_count(const struct informer *inf);

/* --- work queues ------------------------------------------------------------------ */

struct workqueue;

/*
 * A queue of keys ("ns/name") processed one at a time on the loop. A key waiting or being
 * processed is never queued twice; added while processing, it runs again afterwards.
 * process returns 0 when done with the key (its failures forgotten), or -1 to retry it with
 * per-key exponential back-off (5 ms doubling up to 1000 s, as upstream's controllers).
 */
struct workqueue *workqueue_new(struct loop *l, const char *name,
                                int (*process)(void *arg, const char *key), void *arg);
void workqueue_free(struct workqueue *q);
void workqueue_add(struct workqueue *q, const char *key);
void workqueue_add_after(struct workqueue *q, const char *key, uint64_t ms);
size_t workqueue_len(const struct workqueue *q);

/* --- events ----------------------------------------------------------------------- */

/*
 * Records a core/v1 Event about obj (which kubectl describe shows), as upstream's
 * EventRecorder: type "Normal" or "Warning", a CamelCase reason, a message. Repeats of the
 * same (object, type, reason, message) within ten minutes bump count and lastTimestamp of
 * one Event instead of making another. component names the source ("replicaset-controller").
 */
void client_event(struct client *c, const char *component, const cJSON *obj, const char *type,
                  const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* "ns/name" (or "name") of an object into out. */
void client_key_of(const cJSON *obj, char *out, size_t n);

#endif
