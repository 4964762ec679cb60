/* etcd_load: load on etcd v3's KV and Watch APIs through tug's gRPC channel over TCP, for
 * comparing tug's store with etcd: sequential and concurrent puts, ranges, watch latency.
 * Prints one JSON line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/loop/loop.h"
#include "core/util/util.h"
#include "cri/grpc/grpc.h"
#include "test/tools/etcd.pb-c.h"

static struct {
	const char *endpoint, *prefix;
	int puts, writers, concurrent_puts, range_keys, range_reps, watch_events;
	size_t value_size;
	uint64_t timeout_ms;
} opt = { .endpoint = "127.0.0.1:2379",
	  .prefix = "/tug-bench",
	  .puts = 2000,
	  .writers = 16,
	  .concurrent_puts = 8000,
	  .range_keys = 1000,
	  .range_reps = 50,
	  .watch_events = 200,
	  .value_size = 1024,
	  .timeout_ms = 10000 };

static struct loop *loop;
static struct grpc_chan *ch;
static uint8_t *value;
static int errors;
static char first_error[300];

static void note_error(const char *what, int code, const char *msg)
{
	if (!errors++)
		snprintf(first_error, sizeof(first_error), "%s: %s: %.200s", what,
		         grpc_code_name(code), msg);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[(int)(q * (n - 1) + 0.5)];
}

/* --- puts ----------------------------------------------------------------------------- */

struct writer {
	int id, next, end; /* keys [next, end) still to write */
	int inflight;
	uint64_t t_sent;
	double *lat; /* per put, ms; may be NULL */
	int nlat;
};

static int writers_busy;

static void put_next(struct writer *w);

static void on_put(int code, const char *msg, ProtobufCMessage *resp, void *arg)
{
	struct writer *w = arg;
	w->inflight = 0;
	if (code != GRPC_OK)
		note_error("Put", code, msg);
	else if (w->lat)
		w->lat[w->nlat++] = (double)(time_mono_us() - w->t_sent) / 1000;
	put_next(w);
}

static void put_next(struct writer *w)
{
	if (w->next >= w->end) {
		writers_busy--;
		return;
	}
	char key[128];
	snprintf(key, sizeof(key), "%s/w%d/%08d", opt.prefix, w->id, w->next++);
	Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
	req.key.data = (uint8_t *)key;
	req.key.len = strlen(key);
	req.value.data = value;
	req.value.len = opt.value_size;
	w->inflight = 1;
	w->t_sent = time_mono_us();
	if (grpc_unary(ch, "/etcdserverpb.KV/Put", &req.base,
	               &etcdserverpb__put_response__descriptor, opt.timeout_ms, 0, on_put, w,
	               NULL) < 0) {
		note_error("Put", GRPC_INTERNAL, "bad call");
		writers_busy--;
	}
}

/* Runs nw writers, each with one put in flight, writing n keys between them. Returns the
 * seconds taken; fills lat (n entries) when given. */
static double run_writers(int nw, int n, int first_id, double *lat)
{
	struct writer *ws = xcalloc((size_t)nw, sizeof(*ws));
	int per = n / nw, extra = n % nw, k = 0;
	uint64_t t0 = time_mono_us();
	writers_busy = nw;
	for (int i = 0; i < nw; i++) {
		ws[i].id = first_id + i;
		ws[i].next = k;
		k += per + (i < extra);
		ws[i].end = k;
		ws[i].lat = lat; /* only ever given with one writer */
	}
	for (int i = 0; i < nw; i++)
		put_next(&ws[i]);
	while (writers_busy > 0)
		loop_run_once(loop, 1000);
	double secs = (double)(time_mono_us() - t0) / 1e6;
	free(ws);
	return secs;
}

/* --- range ------------------------------------------------------------------------------ */

static int range_once(const char *from, const char *to, int64_t *count)
{
	Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
	Etcdserverpb__RangeResponse *resp = NULL;
	struct err e = { 0 };
	int code = 0;
	req.key.data = (uint8_t *)from;
	req.key.len = strlen(from);
	req.range_end.data = (uint8_t *)to;
	req.range_end.len = strlen(to);
	int r = grpc_unary_sync(ch, "/etcdserverpb.KV/Range", &req.base,
	                        &etcdserverpb__range_response__descriptor, opt.timeout_ms, 0,
	                        (ProtobufCMessage **)&resp, &code, &e);
	if (r < 0) {
		note_error("Range", code, e.msg);
		return r;
	}
	*count = (int64_t)resp->n_kvs;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

/* --- watch ------------------------------------------------------------------------------- */

struct watch {
	bool created, ended;
	int got;
	uint64_t sent_us;
	int want_idx;
	double *lat;
};

static void watch_msg(struct grpc_call *c, const uint8_t *msg, size_t len, void *arg)
{
	struct watch *w = arg;
	Etcdserverpb__WatchResponse *r = etcdserverpb__watch_response__unpack(NULL, len, msg);
	if (!r) {
		note_error("Watch", GRPC_INTERNAL, "malformed WatchResponse");
		return;
	}
	if (r->created)
		w->created = true;
	for (size_t i = 0; i < r->n_events; i++) {
		if (w->got < opt.watch_events)
			w->lat[w->got] = (double)(time_mono_us() - w->sent_us) / 1000;
		w->got++;
	}
	etcdserverpb__watch_response__free_unpacked(r, NULL);
}

static void watch_done(struct grpc_call *c, int code, const char *msg, void *arg)
{
	struct watch *w = arg;
	w->ended = true;
	if (code != GRPC_OK && code != GRPC_CANCELLED)
		note_error("Watch", code, msg);
}

static void put_sync(const char *key)
{
	Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
	Etcdserverpb__PutResponse *resp = NULL;
	struct err e = { 0 };
	int code = 0;
	req.key.data = (uint8_t *)key;
	req.key.len = strlen(key);
	req.value.data = value;
	req.value.len = opt.value_size;
	if (grpc_unary_sync(ch, "/etcdserverpb.KV/Put", &req.base,
	                    &etcdserverpb__put_response__descriptor, opt.timeout_ms, 0,
	                    (ProtobufCMessage **)&resp, &code, &e) < 0)
		note_error("Put", code, e.msg);
	else
		protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* Puts one key at a time and times its arrival on a watch of the prefix. */
static int run_watch(double *p50, double *p99)
{
	struct watch w = { .lat = xcalloc((size_t)opt.watch_events, sizeof(double)) };
	struct grpc_call *call;
	char from[128], to[128];
	snprintf(from, sizeof(from), "%s/watch/", opt.prefix);
	snprintf(to, sizeof(to), "%s/watch0", opt.prefix); /* '/' + 1 */
	struct grpc_call_opts o = { .on_msg = watch_msg, .on_done = watch_done, .arg = &w };
	int r = grpc_call_start(ch, "/etcdserverpb.Watch/Watch", &o, &call);
	if (r < 0)
		goto out;
	Etcdserverpb__WatchCreateRequest cr = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
	Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
	cr.key.data = (uint8_t *)from;
	cr.key.len = strlen(from);
	cr.range_end.data = (uint8_t *)to;
	cr.range_end.len = strlen(to);
	req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
	req.create_request = &cr;
	grpc_call_send_msg(call, &req.base);
	uint64_t end = time_mono_ms() + opt.timeout_ms;
	while (!w.created && !w.ended && time_mono_ms() < end)
		loop_run_once(loop, 100);
	if (!w.created) {
		note_error("Watch", GRPC_DEADLINE_EXCEEDED, "watch not created");
		r = -ETIMEDOUT;
		goto cancel;
	}
	for (int i = 0; i < opt.watch_events && !w.ended; i++) {
		char key[160];
		snprintf(key, sizeof(key), "%s%08d", from, i);
		w.sent_us = time_mono_us();
		put_sync(key);
		end = time_mono_ms() + opt.timeout_ms;
		while (w.got <= i && !w.ended && time_mono_ms() < end)
			loop_run_once(loop, 100);
		if (w.got <= i) {
			note_error("Watch", GRPC_DEADLINE_EXCEEDED, "event did not arrive");
			r = -ETIMEDOUT;
			goto cancel;
		}
	}
	*p50 = pct(w.lat, MIN(w.got, opt.watch_events), 0.5);
	*p99 = pct(w.lat, MIN(w.got, opt.watch_events), 0.99);
cancel:
	if (!w.ended)
		grpc_call_cancel(call);
out:
	free(w.lat);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: etcd_load [--endpoint 127.0.0.1:2379] [--prefix /tug-bench]\n"
	        "                 [--puts 2000] [--value-size 1024] [--writers 16]\n"
	        "                 [--concurrent-puts 8000] [--range-keys 1000] [--range-reps 50]\n"
	        "                 [--watch-events 200] [--timeout-ms 10000]\n"
	        "Writes under the prefix (it does not delete them). Prints one JSON line.\n");
}

static int num(const char *s, const char *flag)
{
	uint64_t v;
	if (!parse_u64(s, &v) || v > 100000000) {
		fprintf(stderr, "etcd_load: bad %s '%s'\n", flag, s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "endpoint", 1, NULL, 'e' },     { "prefix", 1, NULL, 'p' },
		{ "puts", 1, NULL, 'n' },         { "value-size", 1, NULL, 's' },
		{ "writers", 1, NULL, 'w' },      { "concurrent-puts", 1, NULL, 'c' },
		{ "range-keys", 1, NULL, 'k' },   { "range-reps", 1, NULL, 'r' },
		{ "watch-events", 1, NULL, 'W' }, { "timeout-ms", 1, NULL, 't' },
		{ "help", 0, NULL, 'h' },         { 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'e':
			opt.endpoint = optarg;
			break;
		case 'p':
			opt.prefix = optarg;
			break;
		case 'n':
			opt.puts = num(optarg, "--puts");
			break;
		case 's':
			opt.value_size = (size_t)num(optarg, "--value-size");
			break;
		case 'w':
			opt.writers = num(optarg, "--writers");
			break;
		case 'c':
			opt.concurrent_puts = num(optarg, "--concurrent-puts");
			break;
		case 'k':
			opt.range_keys = num(optarg, "--range-keys");
			break;
		case 'r':
			opt.range_reps = num(optarg, "--range-reps");
			break;
		case 'W':
			opt.watch_events = num(optarg, "--watch-events");
			break;
		case 't':
			opt.timeout_ms = (uint64_t)num(optarg, "--timeout-ms");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (opt.writers < 1 || opt.puts < 1 || opt.timeout_ms < 1 || strlen(opt.prefix) > 60) {
		usage(stderr);
		return 2;
	}
	struct err e = { 0 };
	if (loop_new(&loop) < 0)
		return 1;
	struct grpc_chan_opts co = { .target = opt.endpoint };
	if (grpc_chan_new(loop, &co, &ch, &e) < 0) {
		fprintf(stderr, "etcd_load: %s\n", e.msg);
		loop_free(loop);
		return 2;
	}
	value = xmalloc(opt.value_size ? opt.value_size : 1);
	for (size_t i = 0; i < opt.value_size; i++)
		value[i] = (uint8_t)('a' + i % 26);

	/* reachable? one put, waiting for the connection */
	{
		char key[128];
		snprintf(key, sizeof(key), "%s/hello", opt.prefix);
		Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
		Etcdserverpb__PutResponse *resp = NULL;
		req.key.data = (uint8_t *)key;
		req.key.len = strlen(key);
		if (grpc_unary_sync(ch, "/etcdserverpb.KV/Put", &req.base,
		                    &etcdserverpb__put_response__descriptor, opt.timeout_ms,
		                    GRPC_WAIT_FOR_READY, (ProtobufCMessage **)&resp, NULL,
		                    &e) < 0) {
			fprintf(stderr, "etcd_load: %s: %s\n", opt.endpoint, e.msg);
			free(value);
			grpc_chan_free(ch);
			loop_free(loop);
			return 1;
		}
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}

	double *lat = xcalloc((size_t)opt.puts, sizeof(double));
	double seq_s = run_writers(1, opt.puts, 0, lat);
	double seq_p50 = pct(lat, opt.puts, 0.5), seq_p99 = pct(lat, opt.puts, 0.99);
	free(lat);
	double conc_s = run_writers(opt.writers, opt.concurrent_puts, 1000, NULL);

	/* range: range_keys keys under their own prefix, written by the writers */
	char from[128], to[128];
	snprintf(from, sizeof(from), "%s/w", opt.prefix);
	double range_p50 = 0, range_ops = 0;
	int64_t range_n = 0;
	{
		/* writer 0's keys from the sequential pass: the first range_keys of them */
		snprintf(from, sizeof(from), "%s/w0/", opt.prefix);
		snprintf(to, sizeof(to), "%s/w0/%08d", opt.prefix, MIN(opt.range_keys, opt.puts));
		double *rl = xcalloc((size_t)MAX(opt.range_reps, 1), sizeof(double));
		uint64_t t0 = time_mono_us();
		int done = 0;
		for (int i = 0; i < opt.range_reps; i++) {
			uint64_t t = time_mono_us();
			if (range_once(from, to, &range_n) < 0)
				break;
			rl[done++] = (double)(time_mono_us() - t) / 1000;
		}
		double secs = (double)(time_mono_us() - t0) / 1e6;
		range_p50 = pct(rl, done, 0.5);
		range_ops = done && secs > 0 ? done / secs : 0;
		free(rl);
	}
	double w50 = 0, w99 = 0;
	int wr = opt.watch_events > 0 ? run_watch(&w50, &w99) : -1;

	printf("{\"tool\":\"etcd_load\",\"endpoint\":\"%s\",\"value_size\":%zu,"
	       "\"seq_put\":{\"ops\":%d,\"ops_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f},"
	       "\"concurrent_put\":{\"writers\":%d,\"ops\":%d,\"ops_per_s\":%.0f},"
	       "\"range\":{\"keys\":%lld,\"reps\":%d,\"p50_ms\":%.3f,\"ops_per_s\":%.1f},",
	       opt.endpoint, opt.value_size, opt.puts, opt.puts / seq_s, seq_p50, seq_p99,
	       opt.writers, opt.concurrent_puts, opt.concurrent_puts / conc_s, (long long)range_n,
	       opt.range_reps, range_p50, range_ops);
	if (wr == 0)
		printf("\"watch\":{\"events\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f},",
		       opt.watch_events, w50, w99);
	else
		printf("\"watch\":null,");
	printf("\"errors\":%d", errors);
	if (errors) {
		printf(",\"first_error\":\"");
		for (const char *p = first_error; *p; p++)
			printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
		printf("\"");
	}
	printf("}\n");
	free(value);
	grpc_chan_free(ch);
	loop_free(loop);
	return errors ? 1 : 0;
}
