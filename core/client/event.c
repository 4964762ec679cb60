/* event: an Event recorder for components, aggregating repeats into one object's count. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "event"
#include "core/client/client-internal.h"
#include "core/log/log.h"
#include "core/obj/obj.h"

#define AGGREGATE_MS (10 * 60 * 1000)
#define MAX_TRACKED 4096

/* What we last recorded under a key (object uid + type + reason + message). */
struct recorded {
	char *ns, *name;
	int count;
	uint64_t when_ms;
};

static struct strmap recent; /* key -> struct recorded*; one recorder per process */

static void forget_old(void)
{
	if (recent.len < MAX_TRACKED)
		return;
	uint64_t now = time_mono_ms();
	const char *key;
	void *val;
	char **old = NULL;
	size_t n = 0;
	for (size_t i = 0; strmap_next(&recent, &i, &key, &val);) {
		struct recorded *r = val;
		if (now - r->when_ms > AGGREGATE_MS || n < recent.len / 2) {
			old = xrealloc(old, (n + 1) * sizeof(char *));
			old[n++] = xstrdup(key);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct recorded *r = strmap_del(&recent, old[i]);
		if (r) {
			free(r->ns);
			free(r->name);
			free(r);
		}
		free(old[i]);
	}
	free(old);
}

void client_event(struct client *c, const char *component, const cJSON *obj, const char *type,
                  const char *reason, const char *fmt, ...)
{
	const struct reg_kind *ek = client_kind("", "events");
	char msg[1024], key[1600], now[32];
	va_list ap;
	if (!ek || !obj)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *uid = obj_get_str(obj, "metadata.uid");
	const char *ons = obj_get_str(obj, "metadata.namespace");
	const char *oname = obj_get_str(obj, "metadata.name");
	const char *ns = ons && *ons ? ons : "default";
	snprintf(key, sizeof(key), "%s|%s|%s|%s", uid ? uid : "", type, reason, msg);
	obj_time_format((int64_t)time(NULL), now);
	forget_old();

	struct recorded *r = strmap_get(&recent, key);
	if (r && time_mono_ms() - r->when_ms < AGGREGATE_MS) {
		r->count++;
		r->when_ms = time_mono_ms();
		cJSON *patch = cJSON_CreateObject();
		cJSON_AddNumberToObject(patch, "count", r->count);
		cJSON_AddStringToObject(patch, "lastTimestamp", now);
		client_merge_patch(c, ek, r->ns, r->name, NULL, patch, NULL, NULL);
		return;
	}
	char name[300], sfx[24];
	/* Upstream names events <object>.<hex of the time in ns>. Our clock has ms, so a burst of
	 * events (a controller creating many pods) would share a name and all but one would be
	 * refused as AlreadyExists: keep the suffix strictly increasing instead. */
	static unsigned long long last_ns;
	unsigned long long ns_now = (unsigned long long)time_real_ms() * 1000000ull;
	if (ns_now <= last_ns)
		ns_now = last_ns + 1;
	last_ns = ns_now;
	snprintf(sfx, sizeof(sfx), "%llx", ns_now);
	snprintf(name, sizeof(name), "%.200s.%s", oname ? oname : "unknown", sfx);
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "apiVersion", "v1");
	cJSON_AddStringToObject(ev, "kind", "Event");
	cJSON *m = cJSON_AddObjectToObject(ev, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", ns);
	cJSON *io = cJSON_AddObjectToObject(ev, "involvedObject");
	const char *av = obj_get_str(obj, "apiVersion"), *kind = obj_get_str(obj, "kind");
	if (kind)
		cJSON_AddStringToObject(io, "kind", kind);
	if (ons)
		cJSON_AddStringToObject(io, "namespace", ons);
	if (oname)
		cJSON_AddStringToObject(io, "name", oname);
	if (uid)
		cJSON_AddStringToObject(io, "uid", uid);
	if (av)
		cJSON_AddStringToObject(io, "apiVersion", av);
	const char *rv = obj_get_str(obj, "metadata.resourceVersion");
	if (rv)
		cJSON_AddStringToObject(io, "resourceVersion", rv);
	cJSON_AddStringToObject(ev, "reason", reason);
	cJSON_AddStringToObject(ev, "message", msg);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "source"), "component", component);
	cJSON_AddStringToObject(ev, "firstTimestamp", now);
	cJSON_AddStringToObject(ev, "lastTimestamp", now);
	cJSON_AddNumberToObject(ev, "count", 1);
	cJSON_AddStringToObject(ev, "type", type);
	client_create(c, ek, ns, ev, NULL, NULL);
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		strmap_put(&recent, key, r);
	} else {
		free(r->ns);
		free(r->name);
	}
	r->ns = xstrdup(ns);
	r->name = xstrdup(name);
	r->count = 1;
	r->when_ms = time_mono_ms();
}
