/* index: which assigned pods carry a label or belong to a controller, and which of their
 * affinity terms could match a pod with a label, so that pod-to-pod rules look at the pods
 * that matter instead of every pod in the cluster. */
#include <stdio.h>
#include <string.h>

#include "core/scheduler/scheduler-internal.h"

/* A selector's anchor: its first requirement that names the values a key must have. Only
 * pods with one of those labels can match, so they are the only candidates. */
static const struct sel_req *anchor(const struct sel *sel)
{
	for (size_t i = 0; sel && i < sel->n; i++) {
		const struct sel_req *r = &sel->reqs[i];
		if ((r->op == SEL_EQUALS || r->op == SEL_DOUBLE_EQUALS || r->op == SEL_IN) &&
		    r->nvalues)
			return r;
	}
	return NULL;
}

static const char *label_key(char *buf, size_t n, const char *k, const char *v)
{
	return tp_pair(buf, n, k, v);
}

static void add_slot(struct spod *p, void *list, bool term, size_t pos)
{
	if (p->nslots == p->cap_slots) {
		p->cap_slots = p->cap_slots ? p->cap_slots * 2 : 4;
		p->slots = xrealloc(p->slots, p->cap_slots * sizeof(*p->slots));
	}
	p->slots[p->nslots].list = list;
	p->slots[p->nslots].term = term;
	p->slots[p->nslots++].pos = pos;
}

static void ilist_add(struct strmap *m, const char *key, struct spod *p)
{
	struct ilist *l = strmap_get(m, key);
	if (!l) {
		l = xcalloc(1, sizeof(*l));
		strmap_put(m, key, l);
		l->key = xstrdup(key);
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].p = p;
	l->v[l->n].slot = (uint32_t)p->nslots;
	add_slot(p, l, false, l->n++);
}

static void tlist_put(struct tlist *l, struct spod *p, const struct sterm *t, int kind)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].p = p;
	l->v[l->n].t = t;
	l->v[l->n].kind = (uint8_t)kind;
	l->v[l->n].slot = (uint32_t)p->nslots;
	add_slot(p, l, true, l->n++);
}

static void index_terms(struct scheduler *s, struct spod *p, const struct sterm *t, size_t n,
                        int kind)
{
	char key[600];
	for (size_t i = 0; i < n; i++) {
		if (!t[i].sel || t[i].sel->nothing)
			continue; /* matches no pod */
		const struct sel_req *a = anchor(t[i].sel);
		if (!a) {
			tlist_put(&s->tany, p, &t[i], kind);
			continue;
		}
		for (size_t v = 0; v < a->nvalues; v++) {
			label_key(key, sizeof(key), a->key, a->values[v]);
			struct tlist *l = strmap_get(&s->tidx, key);
			if (!l) {
				l = xcalloc(1, sizeof(*l));
				l->key = xstrdup(key);
				strmap_put(&s->tidx, key, l);
			}
			tlist_put(l, p, &t[i], kind);
		}
	}
}

void sched_index_add(struct scheduler *s, struct spod *p)
{
	char key[600];
	const cJSON *l;
	cJSON_ArrayForEach(l, p->labels)
	{
		if (cJSON_IsString(l))
			ilist_add(&s->lidx, label_key(key, sizeof(key), l->string, l->valuestring),
			          p);
	}
	if (p->owner) {
		snprintf(key, sizeof(key), "\x01%s", p->owner);
		ilist_add(&s->lidx, key, p);
	}
	if (p->aff) {
		index_terms(s, p, p->aff->raff, p->aff->nraff, T_RAFF);
		index_terms(s, p, p->aff->ranti, p->aff->nranti, T_RANTI);
		index_terms(s, p, p->aff->paff, p->aff->npaff, T_PAFF);
		index_terms(s, p, p->aff->panti, p->aff->npanti, T_PANTI);
	}
}

void sched_index_remove(struct scheduler *s, struct spod *p)
{
	for (size_t i = 0; i < p->nslots; i++) {
		size_t pos = p->slots[i].pos;
		if (p->slots[i].term) {
			struct tlist *l = p->slots[i].list;
			l->v[pos] = l->v[--l->n];
			if (pos < l->n)
				l->v[pos].p->slots[l->v[pos].slot].pos = pos;
			if (!l->n && l != &s->tany) {
				strmap_del(&s->tidx, l->key);
				free(l->key);
				free(l->v);
				free(l);
			}
		} else {
			struct ilist *l = p->slots[i].list;
			l->v[pos] = l->v[--l->n];
			if (pos < l->n)
				l->v[pos].p->slots[l->v[pos].slot].pos = pos;
			if (!l->n) {
				strmap_del(&s->lidx, l->key);
				free(l->key);
				free(l->v);
				free(l);
			}
		}
	}
	p->nslots = 0;
}

void sched_index_free(struct scheduler *s)
{
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&s->lidx, &i, &k, &v);) {
		struct ilist *l = v;
		free(l->key);
		free(l->v);
		free(l);
	}
	strmap_free(&s->lidx);
	for (size_t i = 0; strmap_next(&s->tidx, &i, &k, &v);) {
		struct tlist *l = v;
		free(l->key);
		free(l->v);
		free(l);
	}
	strmap_free(&s->tidx);
	free(s->tany.v);
	memset(&s->tany, 0, sizeof(s->tany));
}

void sched_each_candidate(struct scheduler *s, const struct sel *sel, sched_pod_fn fn, void *arg)
{
	char key[600];
	if (!sel || sel->nothing)
		return;
	const struct sel_req *a = anchor(sel);
	if (!a) {
		for (size_t i = 0; i < s->nnodes; i++)
			for (size_t j = 0; j < s->nodes[i]->npods; j++)
				fn(arg, s->nodes[i]->pods[j]);
		return;
	}
	for (size_t v = 0; v < a->nvalues; v++) {
		const struct ilist *l =
		    strmap_get(&s->lidx, label_key(key, sizeof(key), a->key, a->values[v]));
		for (size_t i = 0; l && i < l->n; i++)
			fn(arg, l->v[i].p);
	}
}

void sched_each_owned(struct scheduler *s, const char *owner, sched_pod_fn fn, void *arg)
{
	char key[600];
	snprintf(key, sizeof(key), "\x01%s", owner);
	const struct ilist *l = strmap_get(&s->lidx, key);
	for (size_t i = 0; l && i < l->n; i++)
		fn(arg, l->v[i].p);
}

void sched_each_term_for(struct scheduler *s, const cJSON *labels, sched_term_fn fn, void *arg)
{
	char key[600];
	const cJSON *l;
	cJSON_ArrayForEach(l, labels)
	{
		if (!cJSON_IsString(l))
			continue;
		const struct tlist *t =
		    strmap_get(&s->tidx, label_key(key, sizeof(key), l->string, l->valuestring));
		for (size_t i = 0; t && i < t->n; i++)
			fn(arg, &t->v[i]);
	}
	for (size_t i = 0; i < s->tany.n; i++)
		fn(arg, &s->tany.v[i]);
}
