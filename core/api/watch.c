/* watch: Kubernetes watch events from the store's change feed. The store tells us (from its
 * writer thread) that something changed; we pull the changes on the loop, turn each into
 * ADDED/MODIFIED/DELETED for this watcher's selectors, and stop pulling while the client is
 * slow (the store keeps the history, so nothing queues up here). */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "api"
#include "core/api/api-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

struct api_watch {
	struct api *a;
	const struct reg_kind *k;
	char *ns;
	struct store_watch *sw;
	api_event_fn fn;
	void *arg;
	struct api_filter filter;
	int posted; /* a drain is queued on the loop (atomic) */
	bool paused, stopped, ended;
	bool in_drain; /* callbacks may stop the watch: then the drain finishes the job */
};

static void drain(void *arg);

/* From the store's writer thread: queue one drain on the loop. */
static void on_change(void *arg)
{
	struct api_watch *w = arg;
	if (__atomic_exchange_n(&w->posted, 1, __ATOMIC_ACQ_REL) == 0)
		loop_post(w->a->loop, drain, w);
}

static bool matches(struct api_watch *w, const cJSON *obj)
{
	return !w->filter.match || w->filter.match(w->filter.arg, w->k, obj);
}

static int emit(struct api_watch *w, const char *type, cJSON *obj)
{
	if (w->stopped)
		return 1;
	int r = w->fn(w->arg, type, obj);
	if (w->stopped)
		return 1;
	if (r)
		w->paused = true;
	return r;
}

/*
 * One change usually goes to many watchers in a row (every kubelet, proxy and kubectl -w
 * watching pods). The last event's parsed object (and its predecessor, for filters) is kept
 * so that the watchers after the first share one parse, and api_watch_line shares one
 * encoding. The loop is single-threaded, so one entry per process is enough.
 */
static struct ev_cache {
	uint64_t rev;
	char *key;
	const struct reg_kind *k;
	cJSON *obj, *prev;
	bool prev_parsed;
	char type[12];
	struct buf line;
	bool line_ok;
} cache;

static void cache_reset(void)
{
	free(cache.key);
	cJSON_Delete(cache.obj);
	cJSON_Delete(cache.prev);
	buf_free(&cache.line);
	memset(&cache, 0, sizeof(cache));
}

static cJSON *cached_obj(const struct reg_kind *k, const struct store_event *ev)
{
	if (cache.obj && cache.rev == ev->rev && cache.k == k && !strcmp(cache.key, ev->key))
		return cache.obj;
	cache_reset();
	cache.obj = api_from_storage_kind(k, ev->val ? ev->val : "", ev->val_len, ev->rev);
	if (!cache.obj)
		return NULL;
	cache.rev = ev->rev;
	cache.key = xstrdup(ev->key);
	cache.k = k;
	return cache.obj;
}

static cJSON *cached_prev(const struct reg_kind *k, const struct store_event *ev)
{
	if (!cache.prev_parsed) {
		cache.prev =
		    api_from_storage_kind(k, ev->prev_val, ev->prev_val_len, ev->prev_mod_rev);
		cache.prev_parsed = true;
	}
	return cache.prev;
}

const char *api_watch_line(const char *type, const cJSON *obj, size_t *len, struct buf *scratch)
{
	struct buf *b = scratch;
	if (obj == cache.obj && cache.obj) {
		if (cache.line_ok && !strcmp(cache.type, type)) {
			*len = cache.line.len;
			return cache.line.data;
		}
		b = &cache.line;
		snprintf(cache.type, sizeof(cache.type), "%s", type);
		cache.line_ok = true;
	}
	buf_reset(b);
	buf_printf(b, "{\"type\":\"%s\",\"object\":", type);
	obj_print_buf(b, obj, 0);
	buf_adds(b, "}\n");
	*len = b->len;
	return b->data;
}

static int on_event(void *arg, const struct store_event *ev)
{
	struct api_watch *w = arg;
	cJSON *obj = cached_obj(w->k, ev);
	if (!obj)
		return 0; /* a damaged value is skipped */
	if (ev->type == STORE_DELETE)
		return matches(w, obj) ? emit(w, "DELETED", obj) : 0;
	bool now = matches(w, obj);
	if (!ev->prev_val)
		return now ? emit(w, "ADDED", obj) : 0;
	bool before = true;
	if (w->filter.match) {
		cJSON *prev = cached_prev(w->k, ev);
		before = prev && matches(w, prev);
	}
	/* Objects that start or stop matching appear or disappear, as upstream's cacher does. */
	if (now && before)
		return emit(w, "MODIFIED", obj);
	if (now)
		return emit(w, "ADDED", obj);
	if (before)
		return emit(w, "DELETED", obj);
	return 0;
}

static void end_with_gone(struct api_watch *w)
{
	struct api_status st = { 0 };
	api_fail(&st, 410, "Expired", "too old resource version: %llu (%llu)",
	         (unsigned long long)store_watch_rev(w->sw),
	         (unsigned long long)store_compacted_rev(w->a->store));
	cJSON *s = api_status_json(&st);
	w->ended = true;
	w->fn(w->arg, "ERROR", s);
	cJSON_Delete(s);
}

static void destroy(struct api_watch *w)
{
	store_watch_close(w->sw);
	free(w->ns);
	free(w);
}

static void drain(void *arg)
{
	struct api_watch *w = arg;
	__atomic_store_n(&w->posted, 0, __ATOMIC_RELEASE);
	if (w->stopped) {
		destroy(w);
		return;
	}
	if (w->paused || w->ended)
		return;
	w->in_drain = true;
	bool more = true;
	/* Bounded work per turn of the loop, so one busy watcher does not starve others. */
	for (int turns = 0; turns < 16 && more && !w->paused && !w->stopped; turns++) {
		int n = store_watch_poll(w->sw, 64, on_event, w);
		if (n == STORE_E_COMPACTED && !w->stopped)
			end_with_gone(w);
		more = n > 0;
	}
	w->in_drain = false;
	if (w->stopped) {
		if (!__atomic_load_n(&w->posted, __ATOMIC_ACQUIRE))
			destroy(w);
		return;
	}
	if (more && !w->paused && !w->ended)
		on_change(w); /* more may wait: come back on the next turn */
}

static void bookmark(struct api_watch *w, bool initial_end)
{
	char av[64], rv[24];
	cJSON *obj = cJSON_CreateObject();
	reg_api_version(w->k, av, sizeof(av));
	cJSON_AddStringToObject(obj, "kind", w->k->kind);
	cJSON_AddStringToObject(obj, "apiVersion", av);
	cJSON *m = cJSON_AddObjectToObject(obj, "metadata");
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)store_watch_rev(w->sw));
	cJSON_AddStringToObject(m, "resourceVersion", rv);
	if (initial_end) {
		cJSON *ann = cJSON_AddObjectToObject(m, "annotations");
		cJSON_AddStringToObject(ann, "k8s.io/initial-events-end", "true");
	}
	emit(w, "BOOKMARK", obj);
	cJSON_Delete(obj);
}

struct initial {
	struct api_watch *w;
};

static int initial_item(void *arg, const struct store_kv *kv)
{
	struct api_watch *w = arg;
	cJSON *obj = api_from_storage_kind(w->k, kv->val, kv->val_len, kv->mod_rev);
	if (obj && matches(w, obj) && !w->stopped)
		w->fn(w->arg, "ADDED", obj);
	cJSON_Delete(obj);
	return 0;
}

int api_watch(struct api *a, const struct api_target *t, const struct api_watch_opts *o,
              api_event_fn fn, void *arg, struct api_watch **out, struct api_status *st)
{
	struct api_watch *w = xcalloc(1, sizeof(*w));
	char prefix[STORE_MAX_KEY + 64];
	struct err e = { 0 };
	uint64_t after = 0;
	bool initial = false;
	int rc;

	w->a = a;
	w->k = t->k;
	w->ns = t->ns ? xstrdup(t->ns) : NULL;
	w->fn = fn;
	w->arg = arg;
	if (o)
		w->filter = o->filter;
	api_prefix(t->k, t->ns, prefix, sizeof(prefix));
	if (t->name) {
		/* A watch of one object (fieldSelector metadata.name=x arrives as a filter; a
		 * name in the path narrows the prefix to that key). */
		api_key(t->k, t->ns, t->name, prefix, sizeof(prefix));
	}
	const char *rv = o ? o->resource_version : NULL;
	if (o && o->send_initial_events) {
		initial = true;
	} else if (!rv || !*rv || !strcmp(rv, "0")) {
		initial = true;
	} else if (!parse_u64(rv, &after)) {
		free(w->ns);
		free(w);
		return api_fail(st, 400, "BadRequest", "invalid resource version: %s", rv);
	}
	struct store_snap *sn = NULL;
	if (initial) {
		if ((rc = store_snap_begin(a->store, 0, &sn, &e)) < 0) {
			free(w->ns);
			free(w);
			return api_fail(st, 500, "InternalError", "%s", e.msg);
		}
		after = store_snap_rev(sn);
	}
	rc = store_watch(a->store, prefix, after, on_change, w, &w->sw, &e);
	if (rc < 0) {
		store_snap_end(sn);
		free(w->ns);
		free(w);
		if (rc == STORE_E_COMPACTED)
			return api_fail(st, 410, "Expired", "too old resource version: %llu (%llu)",
			                (unsigned long long)after,
			                (unsigned long long)store_compacted_rev(a->store));
		if (rc == STORE_E_FUTURE)
			return api_fail(
			    st, 504, "Timeout", "Too large resource version: %llu, current: %llu",
			    (unsigned long long)after, (unsigned long long)store_rev(a->store));
		return api_fail(st, 500, "InternalError", "%s", e.msg);
	}
	*out = w;
	if (sn) {
		/* The state at the snapshot, then everything after it. */
		store_snap_range(sn, prefix, NULL, 0, initial_item, w, NULL);
		store_snap_end(sn);
		if (o && o->send_initial_events)
			bookmark(w, true);
	}
	return 0;
}

void api_watch_resume(struct api_watch *w)
{
	if (!w->paused)
		return;
	w->paused = false;
	on_change(w);
}

void api_watch_bookmark(struct api_watch *w)
{
	if (!w->ended)
		bookmark(w, false);
}

/* Safe from inside the event callback. A drain that is running or queued frees the watch;
 * otherwise it goes now. */
void api_watch_stop(struct api_watch *w)
{
	if (!w)
		return;
	w->stopped = true;
	if (w->in_drain || __atomic_load_n(&w->posted, __ATOMIC_ACQUIRE))
		return;
	destroy(w);
}
