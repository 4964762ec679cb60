/* controllers-testlib: a real store, API and client on a loop, the workload controllers with a
 * fake clock, and a pretend kubelet (binding, readiness, finishing deletions) for the tests. */
#ifndef TUG_CONTROLLERS_TESTLIB_H
#define TUG_CONTROLLERS_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/client/client.h"
#include "core/controllers/controllers.h"
#include "core/obj/obj.h"

/* Each test file uses some of these helpers. */
#pragma GCC diagnostic ignored "-Wunused-function"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;
static struct client *cl;
static struct controllers_workloads *wl;
static int64_t fake_now_ms;

static int64_t fake_now(void *arg)
{
	return fake_now_ms;
}

/* Moves the fake clock and lets the controllers look again. */
static void advance(int64_t sec);

static void spin(int ms)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms;
	while (time_mono_ms() < end)
		loop_run_once(lp, 2);
}

/* Runs the loop until cond holds (true) or timeout_ms passes (false). Generous timeouts: the
 * tests also run under ASan and qemu on shared machines. */
static bool spin_until(bool (*cond)(void *), void *arg, int timeout_ms)
{
	if (getenv("TUG_TEST_QEMU"))
		timeout_ms *= 4;
	uint64_t end = time_mono_ms() + (uint64_t)timeout_ms;
	while (time_mono_ms() < end) {
		if (cond(arg))
			return true;
		loop_run_once(lp, 2);
	}
	return cond(arg);
}

static int tl_setup(unsigned which)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-controllers-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	struct store_opts so = { .dir = dir, .no_background = true };
	if (store_open(&st, &so, &e) < 0)
		return -1;
	if (loop_new(&lp) < 0)
		return -1;
	struct api_opts ao = { .store = st, .loop = lp };
	if (api_new(&api, &ao, &e) < 0 || api_bootstrap(api, NULL, &e) < 0)
		return -1;
	cl = client_local(api, lp, "system:kube-controller-manager");
	/* The fake clock starts at the real time: objects get real creation timestamps. */
	fake_now_ms = (int64_t)time_real_ms() / 1000 * 1000;
	struct controllers_workloads_opts o = { .which = which,
		                                .now_ms = fake_now,
		                                .resync_ms = 3600 * 1000 };
	if (controllers_workloads_start(cl, &o, &wl) < 0)
		return -1;
	for (int i = 0; i < 200 && !controllers_workloads_synced(wl); i++)
		loop_run_once(lp, 5);
	return controllers_workloads_synced(wl) ? 0 : -1;
}

static int tl_teardown(void)
{
	controllers_workloads_stop(wl);
	spin(50); /* writes still in flight end and free themselves */
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void advance(int64_t sec)
{
	fake_now_ms += sec * 1000;
	controllers_workloads_resync(wl);
	spin(20);
}

/* --- objects ------------------------------------------------------------------------------ */

static const struct reg_kind *K(const char *group, const char *res)
{
	const struct reg_kind *k = client_kind(group, res);
	assert_non_null(k);
	return k;
}

struct result {
	int code;
	bool done;
	char msg[512];
};

static void on_result(void *arg, int code, const char *msg, cJSON *obj)
{
	struct result *r = arg;
	r->code = code;
	r->done = true;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
}

static bool result_done(void *arg)
{
	return ((struct result *)arg)->done;
}

static cJSON *jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *jsonf(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cJSON *j = cJSON_Parse(buf);
	if (!j)
		fail_msg("bad JSON in test: %s", buf);
	return j;
}

/* Creates and waits; returns the HTTP-like code. */
static int create(const struct reg_kind *k, const char *ns, cJSON *body)
{
	struct result r = { 0 };
	client_create(cl, k, ns, body, on_result, &r);
	spin_until(result_done, &r, 2000);
	if (r.code >= 300)
		print_message("create failed: %d %s\n", r.code, r.msg);
	return r.code;
}

static int patch(const struct reg_kind *k, const char *ns, const char *name, const char *sub,
                 cJSON *p)
{
	struct result r = { 0 };
	client_merge_patch(cl, k, ns, name, sub, p, on_result, &r);
	spin_until(result_done, &r, 2000);
	if (r.code >= 300)
		print_message("patch failed: %d %s\n", r.code, r.msg);
	return r.code;
}

static int del(const struct reg_kind *k, const char *ns, const char *name, int64_t grace)
{
	struct result r = { 0 };
	client_delete(cl, k, ns, name, grace, NULL, NULL, on_result, &r);
	spin_until(result_done, &r, 2000);
	return r.code;
}

static cJSON *get(const struct reg_kind *k, const char *ns, const char *name)
{
	return client_get(cl, k, ns, name);
}

static int64_t get_int(const struct reg_kind *k, const char *ns, const char *name, const char *path)
{
	cJSON *o = get(k, ns, name);
	int64_t v = -1;
	if (o && !obj_get_i64(o, path, &v))
		v = 0; /* zero counts are left out of status, as upstream */
	cJSON_Delete(o);
	return v;
}

/* Every object of kind k in ns (a JSON array the caller frees). */
static int add_item(void *arg, cJSON *obj)
{
	cJSON_AddItemToArray(arg, cJSON_Duplicate(obj, true));
	return 0;
}

static cJSON *list(const struct reg_kind *k, const char *ns)
{
	struct api_target t = { k, ns, NULL, NULL };
	struct api_list_opts o = { 0 };
	struct api_status s = { 0 };
	uint64_t rv;
	cJSON *arr = cJSON_CreateArray();
	api_list_each(api, &t, &o, add_item, arr, &rv, &s);
	api_status_clear(&s);
	return arr;
}

static const char *str_at(const cJSON *o, const char *path)
{
	const char *s = obj_get_str(o, path);
	return s ? s : "";
}

static bool has_label(const cJSON *o, const char *key, const char *val)
{
	const cJSON *v = obj_child(obj_get(o, "metadata.labels"), key);
	return cJSON_IsString(v) && (!val || !strcmp(v->valuestring, val));
}

/* Pods in ns whose label key has value val (val NULL: any value), not being deleted. */
static int count_pods(const char *ns, const char *key, const char *val, bool include_deleting)
{
	cJSON *pods = list(K("", "pods"), ns), *p;
	int n = 0;
	cJSON_ArrayForEach(p, pods)
	{
		if (key && !has_label(p, key, val))
			continue;
		if (!include_deleting && obj_get(p, "metadata.deletionTimestamp"))
			continue;
		n++;
	}
	cJSON_Delete(pods);
	return n;
}

/* Events about the object named name whose reason is reason. */
static int count_events(const char *ns, const char *name, const char *reason)
{
	cJSON *evs = list(K("", "events"), ns), *e;
	int n = 0;
	cJSON_ArrayForEach(e, evs)
	{
		if (!strcmp(str_at(e, "involvedObject.name"), name) &&
		    !strcmp(str_at(e, "reason"), reason))
			n += (int)obj_get(e, "count")->valuedouble;
	}
	cJSON_Delete(evs);
	return n;
}

struct ev_want {
	const char *ns, *name, *reason;
	int n;
};

static bool events_are(void *arg)
{
	struct ev_want *w = arg;
	return count_events(w->ns, w->name, w->reason) == w->n;
}

/* Events are written in the background: wait a little for them. */
static void expect_events(const char *ns, const char *name, const char *reason, int n)
{
	struct ev_want w = { ns, name, reason, n };
	if (!spin_until(events_are, &w, 2000))
		fail_msg("%d %s events about %s, want %d", count_events(ns, name, reason), reason,
		         name, n);
}

/* --- the pretend kubelet ------------------------------------------------------------------ */

static void make_node(const char *name, const char *labels_json, const char *taints_json)
{
	cJSON *n = jsonf("{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{\"taints\":%s},"
	                 "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
	                 name, labels_json ? labels_json : "{}", taints_json ? taints_json : "[]");
	assert_int_equal(create(K("", "nodes"), NULL, n), 201);
}

static void bind(const char *ns, const char *pod, const char *node)
{
	struct result r = { 0 };
	client_bind(cl, ns, pod, node, on_result, &r);
	spin_until(result_done, &r, 2000);
	if (r.code >= 300)
		fail_msg("bind %s/%s to %s: %d %s", ns, pod, node, r.code, r.msg);
}

/* Phase Running and Ready (since the fake clock's now), as a kubelet reports it. */
static void set_ready(const char *ns, const char *pod, bool ready)
{
	char ts[32];
	obj_time_format(fake_now_ms / 1000, ts);
	const char *r = ready ? "True" : "False";
	cJSON *p = jsonf("{\"status\":{\"phase\":\"Running\",\"conditions\":["
	                 "{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":\"%s\"}],"
	                 "\"containerStatuses\":[{\"name\":\"c\",\"ready\":%s,\"restartCount\":0,"
	                 "\"image\":\"x\",\"imageID\":\"\",\"state\":{\"running\":{}}}]}}",
	                 r, ts, ready ? "true" : "false");
	assert_int_equal(patch(K("", "pods"), ns, pod, "status", p), 200);
}

static void set_phase(const char *ns, const char *pod, const char *phase)
{
	cJSON *p = jsonf("{\"status\":{\"phase\":\"%s\"}}", phase);
	assert_int_equal(patch(K("", "pods"), ns, pod, "status", p), 200);
}

/* What a kubelet does for the pods of ns being deleted: ends them (grace 0). */
static int finish_deletions(const char *ns)
{
	cJSON *pods = list(K("", "pods"), ns), *p;
	int n = 0;
	cJSON_ArrayForEach(p, pods)
	{
		if (!obj_get(p, "metadata.deletionTimestamp"))
			continue;
		del(K("", "pods"), ns, str_at(p, "metadata.name"), 0);
		n++;
	}
	cJSON_Delete(pods);
	return n;
}

#endif
