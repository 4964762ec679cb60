/* api_fill: writes N realistic pods into a store through the API engine (defaults, validation
 * and all), for benchmarks that need a populated server: api_fill --dir DATA/db --pods N. */
#include <stdio.h>
#include <string.h>

#include "core/api/api.h"

static int pending, failed;

static void done(void *arg, struct api_status *st, cJSON *obj)
{
	pending--;
	if (st->code != 201) {
		failed++;
		if (failed < 5)
			fprintf(stderr, "api_fill: %d %s\n", st->code, st->message);
	}
}

static const char pod_fmt[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod-%d\",\"labels\":{"
    "\"app\":\"web\",\"pod-template-hash\":\"7d4b9c6f5c\",\"tier\":\"%s\"},"
    "\"annotations\":{\"kubernetes.io/config.seen\":\"2026-11-25T00:00:00Z\"}},"
    "\"spec\":{\"nodeName\":\"node-%d\",\"containers\":[{\"name\":\"web\",\"image\":"
    "\"registry.local/web:1.4.2\",\"ports\":[{\"containerPort\":8080,\"name\":\"http\"}],"
    "\"env\":[{\"name\":\"MODE\",\"value\":\"production\"},{\"name\":\"POD_NAME\","
    "\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],"
    "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"limits\":{"
    "\"memory\":\"128Mi\"}},\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":"
    "8080}}}]}}";

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int n = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--pods") && i + 1 < argc)
			n = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: api_fill --dir DATA_DIR/db [--pods N]\n");
			return 2;
		}
	}
	if (!dir || n < 0) {
		fprintf(stderr, "api_fill: --dir is required\n");
		return 2;
	}
	struct store *s = NULL;
	struct loop *l = NULL;
	struct api *a = NULL;
	struct err e = { 0 };
	struct store_opts so = { .dir = dir };
	if (store_open(&s, &so, &e) < 0 || loop_new(&l) < 0) {
		fprintf(stderr, "api_fill: %s\n", e.msg);
		return 1;
	}
	struct api_opts ao = { .store = s, .loop = l };
	if (api_new(&a, &ao, &e) < 0 || api_bootstrap(a, NULL, &e) < 0) {
		fprintf(stderr, "api_fill: %s\n", e.msg);
		return 1;
	}
	struct api_target t = { reg_lookup("", "v1", "pods"), "default", NULL, NULL };
	char json[4096];
	for (int i = 0; i < n; i++) {
		snprintf(json, sizeof(json), pod_fmt, i, i % 3 ? "backend" : "frontend", i % 10);
		pending++;
		api_create(a, &t, cJSON_Parse(json), NULL, done, NULL);
		/* Keep a few hundred in flight: they share syncs. */
		while (pending > 256)
			loop_run_once(l, 10);
	}
	while (pending > 0)
		loop_run_once(l, 10);
	api_free(a);
	loop_free(l);
	store_close(s);
	printf("%d pods written, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
