/* workqueue: keys to reconcile, each at most once in the queue, with per-key exponential
 * back-off on failure, processed a few at a time per turn of the loop. */
#include <string.h>

#define LOG_TAG "workqueue"
#include "core/client/client-internal.h"
#include "core/log/log.h"

#define BASE_MS 5
#define MAX_MS 1000000
#define BATCH 32

struct delayed {
	struct loop_timer t;
	struct workqueue *q;
	char *key;
};

struct workqueue {
	struct loop *loop;
	char *name;
	int (*process)(void *arg, const char *key);
	void *arg;
	char **fifo;
	size_t head, tail, cap;
	struct strmap queued;   /* in fifo */
	struct strmap failures; /* key -> (void*)count */
	struct strmap delayed;  /* key -> struct delayed* (earliest wins) */
	char *processing;
	bool again; /* processing key was added meanwhile */
	bool scheduled;
	struct loop_timer kick;
};

static void kick(struct workqueue *q)
{
	if (!q->scheduled) {
		q->scheduled = true;
		loop_timer_arm(q->loop, &q->kick, 0);
	}
}

static void push(struct workqueue *q, const char *key)
{
	if (strmap_get(&q->queued, key))
		return;
	if (q->processing && !strcmp(q->processing, key)) {
		q->again = true;
		return;
	}
	if (q->tail - q->head == q->cap) {
		size_t n = q->cap ? q->cap * 2 : 64;
		char **f = xmalloc(n * sizeof(char *));
		for (size_t i = 0; i < q->tail - q->head; i++)
			f[i] = q->fifo[(q->head + i) % q->cap];
		free(q->fifo);
		q->fifo = f;
		q->tail -= q->head;
		q->head = 0;
		q->cap = n;
	}
	q->fifo[q->tail++ % q->cap] = xstrdup(key);
	strmap_put(&q->queued, key, (void *)1);
	kick(q);
}

static void on_kick(struct loop *l, struct loop_timer *t)
{
	struct workqueue *q = container_of(t, struct workqueue, kick);
	q->scheduled = false;
	for (int n = 0; n < BATCH && q->head < q->tail; n++) {
		char *key = q->fifo[q->head++ % q->cap];
		strmap_del(&q->queued, key);
		q->processing = key;
		q->again = false;
		int rc = q->process(q->arg, key);
		q->processing = NULL;
		if (rc < 0) {
			uintptr_t fails = (uintptr_t)strmap_get(&q->failures, key);
			uint64_t ms = BASE_MS;
			for (uintptr_t i = 0; i < fails && ms < MAX_MS; i++)
				ms *= 2;
			strmap_put(&q->failures, key, (void *)(fails + 1));
			workqueue_add_after(q, key, MIN(ms, (uint64_t)MAX_MS));
		} else {
			strmap_del(&q->failures, key);
		}
		if (q->again)
			push(q, key);
		free(key);
	}
	if (q->head < q->tail)
		kick(q);
}

struct workqueue *workqueue_new(struct loop *l, const char *name,
                                int (*process)(void *arg, const char *key), void *arg)
{
	struct workqueue *q = xcalloc(1, sizeof(*q));
	q->loop = l;
	q->name = xstrdup(name);
	q->process = process;
	q->arg = arg;
	loop_timer_init(&q->kick, on_kick);
	return q;
}

void workqueue_add(struct workqueue *q, const char *key)
{
	push(q, key);
}

static void on_delayed(struct loop *l, struct loop_timer *t)
{
	struct delayed *d = container_of(t, struct delayed, t);
	struct workqueue *q = d->q;
	strmap_del(&q->delayed, d->key);
	push(q, d->key);
	free(d->key);
	free(d);
}

void workqueue_add_after(struct workqueue *q, const char *key, uint64_t ms)
{
	if (ms == 0) {
		push(q, key);
		return;
	}
	struct delayed *d = strmap_get(&q->delayed, key);
	if (d) {
		/* Already waiting: keep the earlier of the two. */
		if (d->t.due_ms <= time_mono_ms() + ms)
			return;
		loop_timer_arm(q->loop, &d->t, ms);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->q = q;
	d->key = xstrdup(key);
	loop_timer_init(&d->t, on_delayed);
	loop_timer_arm(q->loop, &d->t, ms);
	strmap_put(&q->delayed, key, d);
}

size_t workqueue_len(const struct workqueue *q)
{
	return q->tail - q->head;
}

void workqueue_free(struct workqueue *q)
{
	if (!q)
		return;
	loop_timer_disarm(q->loop, &q->kick);
	while (q->head < q->tail)
		free(q->fifo[q->head++ % q->cap]);
	free(q->fifo);
	const char *key;
	void *val;
	for (size_t i = 0; strmap_next(&q->delayed, &i, &key, &val);) {
		struct delayed *d = val;
		loop_timer_disarm(q->loop, &d->t);
		free(d->key);
		free(d);
	}
	strmap_free(&q->delayed);
	strmap_free(&q->queued);
	strmap_free(&q->failures);
	free(q->name);
	free(q);
}
