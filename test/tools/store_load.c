/* store_load: the store's side of the store benchmark (test/bench/store.sh). Prints one JSON
 * line: sequential and concurrent durable puts, range reads, watch latency, bytes written. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/store/store.h"

static struct store *s;
static char val[1024];

static uint64_t proc_write_bytes(void)
{
	char *text = NULL;
	uint64_t v = 0;
	if (read_file("/proc/self/io", &text, NULL, 0) == 0) {
		char *p = strstr(text, "\nwrite_bytes:");
		if (p)
			v = strtoull(p + 13, NULL, 10);
		free(text);
	}
	return v;
}

static long proc_status_kb(const char *field)
{
	char *text = NULL;
	long v = -1;
	if (read_file("/proc/self/status", &text, NULL, 0) == 0) {
		char *p = strstr(text, field);
		if (p)
			v = strtol(p + strlen(field), NULL, 10);
		free(text);
	}
	return v;
}

struct conc {
	int id, n;
	size_t vlen;
};

static void *conc_writer(void *p)
{
	struct conc *c = p;
	char k[64];
	for (int i = 0; i < c->n; i++) {
		snprintf(k, sizeof(k), "/bench/conc/%d/%d", c->id, i % 100);
		if (store_put(s, k, val, c->vlen, NULL, NULL) < 0)
			abort();
	}
	return NULL;
}

static pthread_mutex_t wm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wc = PTHREAD_COND_INITIALIZER;
static int wflag;

static void on_notify(void *arg)
{
	pthread_mutex_lock(&wm);
	wflag = 1;
	pthread_cond_signal(&wc);
	pthread_mutex_unlock(&wm);
}

static int count_ev(void *arg, const struct store_event *ev)
{
	(*(int *)arg)++;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int nop_kv(void *arg, const struct store_kv *kv)
{
	(*(size_t *)arg) += kv->val_len;
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int seq_n = 2000, conc_n = 1000, writers = 16, range_n = 200, watch_n = 500, small_n = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--seq") && i + 1 < argc)
			seq_n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--writers") && i + 1 < argc)
			writers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--per-writer") && i + 1 < argc)
			conc_n = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: store_load --dir DIR [--seq N] [--writers N] "
			                "[--per-writer N]\n");
			return 2;
		}
	}
	if (!dir || writers < 1 || writers > 256) {
		fprintf(stderr, "store_load: --dir is required\n");
		return 2;
	}
	memset(val, 'v', sizeof(val));
	struct err e = { 0 };
	struct store_opts o = { .dir = dir };
	if (store_open(&s, &o, &e) < 0) {
		fprintf(stderr, "store_load: %s\n", e.msg);
		return 1;
	}
	char k[64];

	/* Bytes written per small update (100 B values, 100 keys) on a fresh store, the
	 * checkpoint that folds them into LMDB included. */
	uint64_t wb0 = proc_write_bytes();
	for (int i = 0; i < small_n; i++) {
		snprintf(k, sizeof(k), "/bench/small/%d", i % 100);
		store_put(s, k, val, 100, NULL, NULL);
	}
	uint64_t wb1 = proc_write_bytes();
	store_checkpoint(s, NULL);
	double per_update = (double)(proc_write_bytes() - wb0) / small_n;
	double per_update_log = (double)(wb1 - wb0) / small_n;

	/* Sequential durable puts of 1 KiB. */
	uint64_t t0 = time_mono_us();
	for (int i = 0; i < seq_n; i++) {
		snprintf(k, sizeof(k), "/bench/seq/%d", i % 1000);
		if (store_put(s, k, val, 1024, NULL, &e) < 0) {
			fprintf(stderr, "store_load: %s\n", e.msg);
			return 1;
		}
	}
	double seq_ops = seq_n / ((time_mono_us() - t0) / 1e6);

	/* Concurrent writers. */
	pthread_t th[256];
	struct conc cs[256];
	t0 = time_mono_us();
	for (int i = 0; i < writers; i++) {
		cs[i] = (struct conc){ i, conc_n, 1024 };
		pthread_create(&th[i], NULL, conc_writer, &cs[i]);
	}
	for (int i = 0; i < writers; i++)
		pthread_join(th[i], NULL);
	double conc_ops = (double)writers * conc_n / ((time_mono_us() - t0) / 1e6);

	/* A range of 1000 keys (the seq keys), newest revision. */
	store_checkpoint(s, NULL);
	t0 = time_mono_us();
	size_t bytes = 0;
	for (int i = 0; i < range_n; i++) {
		struct store_snap *sn;
		if (store_snap_begin(s, 0, &sn, NULL) < 0)
			return 1;
		store_snap_range(sn, "/bench/seq/", NULL, 0, nop_kv, &bytes, NULL);
		store_snap_end(sn);
	}
	double range_us = (time_mono_us() - t0) / (double)range_n;

	/* Watch latency: write, then wait until a watcher on another prefix sees it. */
	struct store_watch *w;
	if (store_watch(s, "/bench/watch/", 0, on_notify, NULL, &w, &e) < 0)
		return 1;
	uint64_t *lat = xcalloc((size_t)watch_n, sizeof(uint64_t));
	for (int i = 0; i < watch_n; i++) {
		int got = 0;
		t0 = time_mono_us();
		store_put(s, "/bench/watch/k", val, 100, NULL, NULL);
		while (!got) {
			pthread_mutex_lock(&wm);
			while (!wflag)
				pthread_cond_wait(&wc, &wm);
			wflag = 0;
			pthread_mutex_unlock(&wm);
			while (store_watch_poll(w, 0, count_ev, &got) > 0)
				;
		}
		lat[i] = time_mono_us() - t0;
	}
	store_watch_close(w);
	qsort(lat, (size_t)watch_n, sizeof(*lat), cmp_u64);

	struct store_stats st;
	store_get_stats(s, &st);
	printf("{\"seq_put_ops\": %.0f, \"conc_put_ops\": %.0f, \"writers\": %d, "
	       "\"range_1000_us\": %.1f, \"watch_p50_us\": %llu, \"watch_p99_us\": %llu, "
	       "\"bytes_per_small_update\": %.0f, \"of_which_log\": %.0f, \"syncs\": %llu, "
	       "\"txns\": %llu, "
	       "\"rss_kb\": %ld, \"hwm_kb\": %ld, \"db_bytes\": %zu}\n",
	       seq_ops, conc_ops, writers, range_us, (unsigned long long)lat[watch_n / 2],
	       (unsigned long long)lat[watch_n * 99 / 100], per_update, per_update_log,
	       (unsigned long long)st.syncs, (unsigned long long)st.txns, proc_status_kb("VmRSS:"),
	       proc_status_kb("VmHWM:"), st.db_bytes);
	free(lat);
	store_close(s);
	return 0;
}
