/* client_test: informers see adds, changes and deletes; work queues dedup and back off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/client/client.h"
#include "core/obj/obj.h"

static char dir[128];
static struct store *st;
static struct loop *lp;
static struct api *api;
static struct client *cl;

static int setup(void **state)
{
	struct err e = { 0 };
	strcpy(dir, "/tmp/tug-client-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct store_opts so = { .dir = dir, .no_background = true };
	assert_int_equal(store_open(&st, &so, &e), 0);
	assert_int_equal(loop_new(&lp), 0);
	struct api_opts ao = { .store = st, .loop = lp };
	assert_int_equal(api_new(&api, &ao, &e), 0);
	assert_int_equal(api_bootstrap(api, NULL, &e), 0);
	cl = client_local(api, lp, "test");
	return 0;
}

static int teardown(void **state)
{
	client_free(cl);
	api_free(api);
	loop_free(lp);
	store_close(st);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void spin(int ms)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms;
	while (time_mono_ms() < end)
		loop_run_once(lp, 5);
}

struct seen {
	char log[1024];
	bool synced;
};

static void h_add(void *arg, const cJSON *obj)
{
	struct seen *s = arg;
	char k[256];
	client_key_of(obj, k, sizeof(k));
	strcat(s->log, "+");
	strcat(s->log, k);
	strcat(s->log, ";");
}

static void h_update(void *arg, const cJSON *old, const cJSON *obj)
{
	struct seen *s = arg;
	char k[256];
	client_key_of(obj, k, sizeof(k));
	strcat(s->log, "~");
	strcat(s->log, k);
	strcat(s->log, ";");
}

static void h_del(void *arg, const cJSON *obj)
{
	struct seen *s = arg;
	char k[256];
	client_key_of(obj, k, sizeof(k));
	strcat(s->log, "-");
	strcat(s->log, k);
	strcat(s->log, ";");
}

static void h_synced(void *arg)
{
	((struct seen *)arg)->synced = true;
}

static int done_code;
static void on_done(void *arg, int code, const char *msg, cJSON *obj)
{
	done_code = code;
}

static void test_informer_lists_then_follows_changes(void **state)
{
	const struct reg_kind *cm = client_kind("", "configmaps");
	assert_non_null(cm);
	client_create(cl, cm, "default", cJSON_Parse("{\"metadata\":{\"name\":\"a\"}}"), on_done,
	              NULL);
	spin(50);
	assert_int_equal(done_code, 201);
	struct seen s = { 0 };
	struct informer_handlers h = { h_add, h_update, h_del, h_synced, &s };
	struct informer *inf = informer_new(cl, cm, NULL, NULL);
	informer_add_handlers(inf, &h);
	assert_int_equal(informer_start(inf), 0);
	spin(20);
	assert_true(s.synced);
	assert_true(informer_synced(inf));
	assert_non_null(strstr(s.log, "+default/a;"));
	s.log[0] = '\0';
	client_create(cl, cm, "kube-system", cJSON_Parse("{\"metadata\":{\"name\":\"b\"}}"), NULL,
	              NULL);
	client_merge_patch(cl, cm, "default", "a", NULL, cJSON_Parse("{\"data\":{\"k\":\"v\"}}"),
	                   on_done, NULL);
	spin(50);
	assert_int_equal(done_code, 200);
	client_delete(cl, cm, "default", "a", -1, NULL, NULL, NULL, NULL);
	spin(50);
	assert_string_equal(s.log, "+kube-system/b;~default/a;-default/a;");
	assert_null(informer_get(inf, "default", "a"));
	assert_non_null(informer_get(inf, "kube-system", "b"));
	cJSON *got = client_get(cl, cm, "kube-system", "b");
	assert_non_null(got);
	cJSON_Delete(got);
	/* Fall behind compaction: the informer relists and reports what changed meanwhile. */
	informer_free(inf);
	inf = informer_new(cl, cm, "kube-system", NULL);
	s.log[0] = '\0';
	informer_add_handlers(inf, &h);
	informer_start(inf);
	spin(20);
	assert_string_equal(s.log, "+kube-system/b;");
	informer_free(inf);
}

static int processed[4];
static int fail_first;
static int process(void *arg, const char *key)
{
	int i = key[0] - 'a';
	processed[i]++;
	if (i == 2 && fail_first-- > 0)
		return -1;
	return 0;
}

static void test_workqueue_dedups_and_retries_with_back_off(void **state)
{
	struct workqueue *q = workqueue_new(lp, "t", process, NULL);
	memset(processed, 0, sizeof(processed));
	fail_first = 3;
	workqueue_add(q, "a");
	workqueue_add(q, "a");
	workqueue_add(q, "b");
	workqueue_add(q, "c");
	assert_int_equal(workqueue_len(q), 3);
	workqueue_add_after(q, "d", 30);
	spin(10);
	assert_int_equal(processed[0], 1);
	assert_int_equal(processed[1], 1);
	assert_int_equal(processed[3], 0);
	/* c fails three times: retried after 5, 10, 20 ms. */
	spin(150);
	assert_int_equal(processed[2], 4);
	assert_int_equal(processed[3], 1);
	workqueue_free(q);
}

static int count_events(void *arg, cJSON *obj)
{
	int *n = arg;
	const cJSON *c = cJSON_GetObjectItem(obj, "count");
	if (cJSON_IsNumber(c))
		*n += (int)c->valuedouble;
	return 0;
}

static void test_repeated_events_are_one_event_with_a_count(void **state)
{
	const struct reg_kind *cm = client_kind("", "configmaps");
	client_create(cl, cm, "default", cJSON_Parse("{\"metadata\":{\"name\":\"e\"}}"), on_done,
	              NULL);
	spin(30);
	cJSON *obj = client_get(cl, cm, "default", "e");
	assert_non_null(obj);
	client_event(cl, "test-controller", obj, "Normal", "Tested", "tested %d", 1);
	spin(30);
	client_event(cl, "test-controller", obj, "Normal", "Tested", "tested %d", 1);
	spin(30);
	client_event(cl, "test-controller", obj, "Warning", "Other", "other");
	spin(30);
	cJSON_Delete(obj);
	struct api_target t = { client_kind("", "events"), "default", NULL, NULL };
	struct api_list_opts o = { 0 };
	struct api_status s = { 0 };
	int total = 0;
	uint64_t rv;
	assert_int_equal(api_list_each(api, &t, &o, count_events, &total, &rv, &s), 0);
	assert_int_equal(total, 3);
	struct buf b = { 0 };
	assert_int_equal(api_list(api, &t, &o, &b, &s), 0);
	cJSON *list = cJSON_Parse(b.data);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 2);
	cJSON_Delete(list);
	buf_free(&b);
}

static void test_binding_puts_the_pod_on_its_node_once(void **state)
{
	const struct reg_kind *pods = client_kind("", "pods");
	client_create(cl, pods, "default",
	              cJSON_Parse("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":"
	                          "[{\"name\":\"c\",\"image\":\"nginx\"}]}}"),
	              on_done, NULL);
	spin(30);
	assert_int_equal(done_code, 201);
	client_bind(cl, "default", "web", "n1", on_done, NULL);
	spin(30);
	assert_int_equal(done_code, 200);
	cJSON *pod = client_get(cl, pods, "default", "web");
	assert_non_null(pod);
	assert_string_equal(obj_get_str(pod, "spec.nodeName"), "n1");
	assert_string_equal(obj_get_str(pod, "status.conditions[0].type"), "PodScheduled");
	assert_string_equal(obj_get_str(pod, "status.conditions[0].status"), "True");
	cJSON_Delete(pod);
	client_bind(cl, "default", "web", "n2", on_done, NULL);
	spin(30);
	assert_int_equal(done_code, 409);
}

static int count_names(void *arg, const cJSON *obj)
{
	char k[256];
	client_key_of(obj, k, sizeof(k));
	strcat(arg, k);
	strcat(arg, ";");
	return 0;
}

static int stop_at_first(void *arg, const cJSON *obj)
{
	(*(int *)arg)++;
	return 7;
}

static void test_list_reads_back_writes_at_once(void **state)
{
	const struct reg_kind *cm = client_kind("", "configmaps");
	client_create(cl, cm, "default", cJSON_Parse("{\"metadata\":{\"name\":\"l1\"}}"), on_done,
	              NULL);
	client_create(cl, cm, "kube-system", cJSON_Parse("{\"metadata\":{\"name\":\"l2\"}}"),
	              on_done, NULL);
	spin(50);
	char seen[256] = "";
	assert_int_equal(client_list(cl, cm, "default", count_names, seen), 0);
	assert_string_equal(seen, "default/l1;");
	seen[0] = '\0';
	assert_int_equal(client_list(cl, cm, NULL, count_names, seen), 0);
	assert_non_null(strstr(seen, "kube-system/l2;"));
	int n = 0;
	assert_int_equal(client_list(cl, cm, NULL, stop_at_first, &n), 7);
	assert_int_equal(n, 1);
}

static void test_a_burst_of_events_keeps_every_event(void **state)
{
	const struct reg_kind *cm = client_kind("", "configmaps");
	client_create(cl, cm, "default", cJSON_Parse("{\"metadata\":{\"name\":\"burst\"}}"),
	              on_done, NULL);
	spin(30);
	cJSON *obj = client_get(cl, cm, "default", "burst");
	assert_non_null(obj);
	for (int i = 0; i < 20; i++)
		client_event(cl, "test-controller", obj, "Normal", "Created", "created %d", i);
	spin(100);
	cJSON_Delete(obj);
	struct api_target t = { client_kind("", "events"), "default", NULL, NULL };
	struct api_list_opts o = { 0 };
	struct api_status s = { 0 };
	int total = 0;
	uint64_t rv;
	assert_int_equal(api_list_each(api, &t, &o, count_events, &total, &rv, &s), 0);
	assert_int_equal(total, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_informer_lists_then_follows_changes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_workqueue_dedups_and_retries_with_back_off,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_reads_back_writes_at_once, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_repeated_events_are_one_event_with_a_count,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_binding_puts_the_pod_on_its_node_once, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_burst_of_events_keeps_every_event, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
