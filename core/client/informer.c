/* informer: a cached, watched view of one resource. It starts a watch that first sends
 * every existing object (then a bookmark marking the end of that list), keeps the objects
 * in a map, and tells its handlers what appeared, changed and went. Should the watch fall
 * behind compaction (410), it lists again and reports the difference. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "informer"
#include "core/client/client-internal.h"
#include "core/log/log.h"

struct handler_node {
	struct informer_handlers h;
	struct handler_node *next;
};

struct informer {
	struct client *c;
	const struct reg_kind *k;
	char *ns;
	struct api_filter filter;
	struct handler_node *handlers;
	struct strmap cache; /* key -> cJSON* */
	struct api_watch *w;
	bool synced, relisting;
	struct strmap seen; /* during a relist: keys seen again */
	struct loop_timer retry;
};

static const char *meta_str(const cJSON *obj, const char *field)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, field);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void each_handler(struct informer *inf, int what, const cJSON *old, const cJSON *obj)
{
	for (struct handler_node *n = inf->handlers; n; n = n->next) {
		if (what == 0 && n->h.add)
			n->h.add(n->h.arg, obj);
		else if (what == 1 && n->h.update)
			n->h.update(n->h.arg, old, obj);
		else if (what == 2 && n->h.del)
			n->h.del(n->h.arg, obj);
		else if (what == 3 && n->h.synced)
			n->h.synced(n->h.arg);
	}
}

static void upsert(struct informer *inf, cJSON *obj)
{
	char key[512];
	client_key_of(obj, key, sizeof(key));
	cJSON *copy = cJSON_Duplicate(obj, true);
	cJSON *old = strmap_put(&inf->cache, key, copy);
	if (inf->relisting)
		strmap_put(&inf->seen, key, (void *)1);
	if (!old) {
		each_handler(inf, 0, NULL, copy);
		return;
	}
	/* A relist replays objects we have: only real changes are news. */
	const char *orv = meta_str(old, "resourceVersion");
	const char *nrv = meta_str(copy, "resourceVersion");
	if (!(orv && nrv && !strcmp(orv, nrv)))
		each_handler(inf, 1, old, copy);
	cJSON_Delete(old);
}

static void remove_obj(struct informer *inf, cJSON *obj)
{
	char key[512];
	client_key_of(obj, key, sizeof(key));
	cJSON *old = strmap_del(&inf->cache, key);
	each_handler(inf, 2, NULL, old ? old : obj);
	cJSON_Delete(old);
}

static int start_watch(struct informer *inf);

static void finish_relist(struct informer *inf)
{
	/* What the new list did not contain is gone. */
	const char *key;
	void *val;
	char **gone = NULL;
	size_t n = 0;
	for (size_t i = 0; strmap_next(&inf->cache, &i, &key, &val);)
		if (!strmap_get(&inf->seen, key)) {
			gone = xrealloc(gone, (n + 1) * sizeof(char *));
			gone[n++] = xstrdup(key);
		}
	for (size_t i = 0; i < n; i++) {
		cJSON *old = strmap_del(&inf->cache, gone[i]);
		if (old)
			each_handler(inf, 2, NULL, old);
		cJSON_Delete(old);
		free(gone[i]);
	}
	free(gone);
	strmap_free(&inf->seen);
	inf->relisting = false;
}

static int on_event(void *arg, const char *type, cJSON *obj)
{
	struct informer *inf = arg;
	if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		upsert(inf, obj);
	} else if (!strcmp(type, "DELETED")) {
		remove_obj(inf, obj);
	} else if (!strcmp(type, "BOOKMARK")) {
		const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations");
		const cJSON *end =
		    cJSON_GetObjectItemCaseSensitive(ann, "k8s.io/initial-events-end");
		if (cJSON_IsString(end) && !strcmp(end->valuestring, "true")) {
			if (inf->relisting)
				finish_relist(inf);
			if (!inf->synced) {
				inf->synced = true;
				each_handler(inf, 3, NULL, NULL);
			}
		}
	} else if (!strcmp(type, "ERROR")) {
		/* Fell behind compaction: list again on the next turn of the loop. */
		log_info("%s: watch expired, listing again", inf->k->resource);
		loop_timer_arm(client_loop(inf->c), &inf->retry, 0);
	}
	return 0;
}

static void on_retry(struct loop *l, struct loop_timer *t)
{
	struct informer *inf = container_of(t, struct informer, retry);
	if (inf->w)
		api_watch_stop(inf->w);
	inf->w = NULL;
	inf->relisting = true;
	strmap_free(&inf->seen);
	if (start_watch(inf) < 0)
		loop_timer_arm(l, &inf->retry, 1000);
}

static int start_watch(struct informer *inf)
{
	struct api_target t = { inf->k, inf->ns, NULL, NULL };
	struct api_watch_opts o = { .send_initial_events = true, .filter = inf->filter };
	struct api_status st = { 0 };
	int rc = api_watch(inf->c->api, &t, &o, on_event, inf, &inf->w, &st);
	if (rc < 0) {
		log_warn("%s: watch: %s", inf->k->resource, st.message);
		inf->w = NULL;
	}
	api_status_clear(&st);
	return rc;
}

struct informer *informer_new(struct client *c, const struct reg_kind *k, const char *ns,
                              const struct api_filter *filter)
{
	struct informer *inf = xcalloc(1, sizeof(*inf));
	inf->c = c;
	inf->k = k;
	inf->ns = ns ? xstrdup(ns) : NULL;
	if (filter)
		inf->filter = *filter;
	loop_timer_init(&inf->retry, on_retry);
	return inf;
}

void informer_add_handlers(struct informer *inf, const struct informer_handlers *h)
{
	struct handler_node *n = xcalloc(1, sizeof(*n));
	n->h = *h;
	struct handler_node **p = &inf->handlers;
	while (*p)
		p = &(*p)->next;
	*p = n;
}

int informer_start(struct informer *inf)
{
	int rc = start_watch(inf);
	if (rc < 0)
		loop_timer_arm(client_loop(inf->c), &inf->retry, 1000);
	return 0;
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	loop_timer_disarm(client_loop(inf->c), &inf->retry);
	api_watch_stop(inf->w);
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&inf->cache, &i, &key, &val);)
		cJSON_Delete(val);
	strmap_free(&inf->cache);
	strmap_free(&inf->seen);
	while (inf->handlers) {
		struct handler_node *n = inf->handlers->next;
		free(inf->handlers);
		inf->handlers = n;
	}
	free(inf->ns);
	free(inf);
}

bool informer_synced(const struct informer *inf)
{
	return inf->synced;
}

const cJSON *informer_get(const struct informer *inf, const char *ns, const char *name)
{
	char key[512];
	if (ns && *ns)
		snprintf(key, sizeof(key), "%s/%s", ns, name);
	else
		snprintf(key, sizeof(key), "%s", name);
	return strmap_get(&inf->cache, key);
}

int informer_each(const struct informer *inf, int (*fn)(void *arg, const cJSON *obj), void *arg)
{
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&inf->cache, &i, &key, &val);) {
		int rc = fn(arg, val);
		if (rc)
			return rc;
	}
	return 0;
}

size_t informer_count(const struct informer *inf)
{
	return inf->cache.len;
}
