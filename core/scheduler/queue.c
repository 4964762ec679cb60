/* queue: pending pods by priority, their back-off, and the unschedulable ones waiting for news. */
#include <string.h>

#include "core/scheduler/scheduler-internal.h"

/* Higher priority first, then first come (upstream's PrioritySort). */
static bool active_less(const struct spod *a, const struct spod *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return a->seq < b->seq;
}

static bool waiting_less(const struct spod *a, const struct spod *b)
{
	return a->wait_until_ms < b->wait_until_ms;
}

static void heap_set(struct heap *h, size_t i, struct spod *p)
{
	h->v[i] = p;
	p->heap_pos = i;
}

static void heap_up(struct heap *h, size_t i)
{
	struct spod *p = h->v[i];
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!h->less(p, h->v[up]))
			break;
		heap_set(h, i, h->v[up]);
		i = up;
	}
	heap_set(h, i, p);
}

static void heap_down(struct heap *h, size_t i)
{
	struct spod *p = h->v[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct spod *best = p;
		if (l < h->n && h->less(h->v[l], best))
			m = l, best = h->v[l];
		if (r < h->n && h->less(h->v[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(h, i, h->v[m]);
		i = m;
	}
	heap_set(h, i, p);
}

static void heap_push(struct heap *h, struct spod *p)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	heap_set(h, h->n++, p);
	heap_up(h, h->n - 1);
}

static void heap_remove(struct heap *h, struct spod *p)
{
	size_t i = p->heap_pos;
	struct spod *last = h->v[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last->heap_pos);
}

static void heap_fix(struct heap *h, struct spod *p)
{
	heap_up(h, p->heap_pos);
	heap_down(h, p->heap_pos);
}

uint64_t sched_backoff_ms(const struct scheduler *s, uint32_t attempts)
{
	uint64_t b = s->o.initial_backoff_ms;
	for (uint32_t i = 1; i < attempts && b < s->o.max_backoff_ms; i++)
		b *= 2;
	return attempts ? MIN(b, s->o.max_backoff_ms) : 0;
}

/* How long an unschedulable pod waits when nothing happens: doubling from the initial
 * back-off up to max_unschedulable_ms. */
static uint64_t idle_retry_ms(const struct scheduler *s, uint32_t attempts)
{
	uint64_t b = s->o.initial_backoff_ms;
	for (uint32_t i = 1; i < attempts && b < s->o.max_unschedulable_ms; i++)
		b *= 2;
	return MIN(b, s->o.max_unschedulable_ms);
}

static void unlist(struct scheduler *s, struct spod *p)
{
	if (!p->unsched)
		return;
	if (p->uprev)
		p->uprev->unext = p->unext;
	else
		s->uhead = p->unext;
	if (p->unext)
		p->unext->uprev = p->uprev;
	p->uprev = p->unext = NULL;
	p->unsched = false;
	s->nunsched--;
}

static void arm_wait(struct scheduler *s)
{
	if (!s->waiting.n) {
		loop_timer_disarm(s->loop, &s->wait_timer);
		return;
	}
	uint64_t now = loop_now_ms(s->loop), due = s->waiting.v[0]->wait_until_ms;
	loop_timer_arm(s->loop, &s->wait_timer, due > now ? due - now : 0);
}

static void activate(struct scheduler *s, struct spod *p)
{
	p->seq = ++s->seq;
	p->qstate = Q_ACTIVE;
	heap_push(&s->active, p);
}

void sched_queue_remove(struct scheduler *s, struct spod *p)
{
	if (p->qstate == Q_ACTIVE)
		heap_remove(&s->active, p);
	else if (p->qstate == Q_WAIT)
		heap_remove(&s->waiting, p);
	unlist(s, p);
	p->qstate = Q_NONE;
}

void sched_queue_add(struct scheduler *s, struct spod *p)
{
	uint64_t now = loop_now_ms(s->loop);
	switch (p->qstate) {
	case Q_ACTIVE:
	case Q_INFLIGHT:
		return;
	case Q_WAIT: {
		/* Changed while waiting: it goes again once its back-off is over. */
		unlist(s, p);
		uint64_t end = p->last_try_ms + sched_backoff_ms(s, p->attempts);
		if (end > now) {
			p->wait_until_ms = end;
			heap_fix(&s->waiting, p);
			arm_wait(s);
			return;
		}
		heap_remove(&s->waiting, p);
		arm_wait(s);
		break;
	}
	default:
		break;
	}
	activate(s, p);
	sched_kick(s);
}

struct spod *sched_queue_pop(struct scheduler *s)
{
	if (!s->active.n)
		return NULL;
	struct spod *p = s->active.v[0];
	heap_remove(&s->active, p);
	p->qstate = Q_NONE;
	return p;
}

void sched_queue_failed(struct scheduler *s, struct spod *p, unsigned fails, bool unschedulable)
{
	uint64_t now = loop_now_ms(s->loop);
	p->attempts++;
	p->last_try_ms = now;
	p->fails = fails;
	if (unschedulable) {
		p->unsched = true;
		p->uprev = NULL;
		p->unext = s->uhead;
		if (s->uhead)
			s->uhead->uprev = p;
		s->uhead = p;
		s->nunsched++;
		p->wait_until_ms = now + idle_retry_ms(s, p->attempts);
	} else {
		p->wait_until_ms = now + sched_backoff_ms(s, p->attempts);
	}
	p->qstate = Q_WAIT;
	heap_push(&s->waiting, p);
	arm_wait(s);
}

void sched_queue_moved(struct scheduler *s, unsigned what)
{
	if (!s->nunsched)
		return;
	s->moved |= what;
	if (!loop_timer_armed(&s->move_timer))
		loop_timer_arm(s->loop, &s->move_timer, 0);
}

/* Applies the cluster changes gathered during one turn of the loop to the unschedulable
 * pods, once: a change that may help a pod ends its wait for news, and it goes again when
 * its back-off is over. */
static void on_move(struct loop *l, struct loop_timer *t)
{
	struct scheduler *s = container_of(t, struct scheduler, move_timer);
	unsigned what = s->moved;
	uint64_t now = loop_now_ms(l);
	s->moved = 0;
	for (struct spod *p = s->uhead, *next; p; p = next) {
		next = p->unext;
		if (p->fails && !(p->fails & what))
			continue;
		unlist(s, p);
		uint64_t end = p->last_try_ms + sched_backoff_ms(s, p->attempts);
		if (end <= now) {
			heap_remove(&s->waiting, p);
			activate(s, p);
		} else {
			p->wait_until_ms = end;
			heap_fix(&s->waiting, p);
		}
	}
	arm_wait(s);
	sched_kick(s);
}

static void on_wait(struct loop *l, struct loop_timer *t)
{
	struct scheduler *s = container_of(t, struct scheduler, wait_timer);
	uint64_t now = loop_now_ms(l);
	while (s->waiting.n && s->waiting.v[0]->wait_until_ms <= now) {
		struct spod *p = s->waiting.v[0];
		heap_remove(&s->waiting, p);
		unlist(s, p);
		activate(s, p);
	}
	arm_wait(s);
	sched_kick(s);
}

void sched_queue_init(struct scheduler *s)
{
	s->active.less = active_less;
	s->waiting.less = waiting_less;
	loop_timer_init(&s->wait_timer, on_wait);
	loop_timer_init(&s->move_timer, on_move);
}

void sched_queue_free(struct scheduler *s)
{
	loop_timer_disarm(s->loop, &s->wait_timer);
	loop_timer_disarm(s->loop, &s->move_timer);
	free(s->active.v);
	free(s->waiting.v);
	memset(&s->active, 0, sizeof(s->active));
	memset(&s->waiting, 0, sizeof(s->waiting));
}

size_t sched_queue_len(const struct scheduler *s)
{
	return s->active.n + s->waiting.n;
}
