/* score: upstream's default score plugins over the feasible nodes, each normalized to 0..100
 * and weighed as the default profile weighs them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/scheduler/scheduler-internal.h"

static const int weights[SCHEDULER_NSCORES] = {
	[SCHEDULER_SCORE_FIT] = 1,           [SCHEDULER_SCORE_BALANCED] = 1,
	[SCHEDULER_SCORE_NODE_AFFINITY] = 2, [SCHEDULER_SCORE_TAINT] = 3,
	[SCHEDULER_SCORE_POD_AFFINITY] = 2,  [SCHEDULER_SCORE_SPREAD] = 2,
};

static const char *const names[SCHEDULER_NSCORES] = {
	[SCHEDULER_SCORE_FIT] = "NodeResourcesFit",
	[SCHEDULER_SCORE_BALANCED] = "NodeResourcesBalancedAllocation",
	[SCHEDULER_SCORE_NODE_AFFINITY] = "NodeAffinity",
	[SCHEDULER_SCORE_TAINT] = "TaintToleration",
	[SCHEDULER_SCORE_POD_AFFINITY] = "InterPodAffinity",
	[SCHEDULER_SCORE_SPREAD] = "PodTopologySpread",
};

int scheduler_score_weight(enum scheduler_score sc)
{
	return sc < SCHEDULER_NSCORES ? weights[sc] : 0;
}

const char *scheduler_score_name(enum scheduler_score sc)
{
	return sc < SCHEDULER_NSCORES ? names[sc] : "";
}

/* Scales so the highest is 100 (reverse: the highest gets 0); all zero stays zero (reverse:
 * all 100), as upstream's DefaultNormalizeScore. */
static void default_normalize(int64_t *v, size_t n, bool reverse)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = MAX(max, v[i]);
	for (size_t i = 0; i < n; i++) {
		if (max == 0) {
			v[i] = reverse ? SCHED_MAX_SCORE : v[i];
			continue;
		}
		int64_t x = SCHED_MAX_SCORE * v[i] / max;
		v[i] = reverse ? SCHED_MAX_SCORE - x : x;
	}
}

/* NodeResourcesFit with the LeastAllocated strategy over cpu and memory, weight 1 each. The
 * requests count containers that ask for nothing at the defaults. */
static bool score_fit(struct sctx *c, struct snode **nodes, size_t n, int64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct snode *nd = nodes[i];
		int64_t alloc[2] = { nd->alloc.cpu, nd->alloc.mem };
		int64_t req[2] = { nd->nz_cpu + c->p->nz_cpu, nd->nz_mem + c->p->nz_mem };
		int64_t sum = 0, wsum = 0;
		for (int r = 0; r < 2; r++) {
			if (alloc[r] <= 0)
				continue;
			sum += req[r] > alloc[r] ? 0
			                         : (alloc[r] - req[r]) * SCHED_MAX_SCORE / alloc[r];
			wsum++;
		}
		out[i] = wsum ? sum / wsum : 0;
	}
	return true;
}

/* NodeResourcesBalancedAllocation: how close the cpu and memory shares would be, from the
 * real requests. Skipped for pods that request neither (they would all pile up on one node). */
static bool score_balanced(struct sctx *c, struct snode **nodes, size_t n, int64_t *out)
{
	if (c->best_effort)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct snode *nd = nodes[i];
		int64_t alloc[2] = { nd->alloc.cpu, nd->alloc.mem };
		int64_t req[2] = { nd->req.cpu + c->p->req.cpu, nd->req.mem + c->p->req.mem };
		double f[2];
		int nf = 0;
		for (int r = 0; r < 2; r++) {
			if (alloc[r] <= 0)
				continue;
			double x = (double)req[r] / (double)alloc[r];
			f[nf++] = x > 1 ? 1 : x;
		}
		double sd = nf == 2 ? fabs(f[0] - f[1]) / 2 : 0;
		out[i] = (int64_t)((1 - sd) * SCHED_MAX_SCORE);
	}
	return true;
}

/* NodeAffinity: the weights of the preferred terms a node matches. */
static bool score_node_affinity(struct sctx *c, struct snode **nodes, size_t n, int64_t *out)
{
	if (!c->npref_terms)
		return false;
	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		for (size_t k = 0; k < c->npref_terms; k++)
			if (sched_nterm_matches(&c->pref_terms[k], nodes[i]))
				out[i] += c->pref_terms[k].weight;
	}
	default_normalize(out, n, false);
	return true;
}

/* TaintToleration: fewer untolerated PreferNoSchedule taints is better. */
static bool score_taint(struct sctx *c, struct snode **nodes, size_t n, int64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct snode *nd = nodes[i];
		out[i] = 0;
		for (size_t k = 0; k < nd->ntaints; k++) {
			if (nd->taints[k].eff != EFF_PREFER_NO_SCHEDULE)
				continue;
			if (!sched_tolerated(c, &nd->taints[k]))
				out[i]++;
		}
	}
	default_normalize(out, n, true);
	return true;
}

/* --- InterPodAffinity ------------------------------------------------------------------ */

struct topo_score {
	struct tpmap m;
	const char **keys; /* distinct topology keys in m */
	uint32_t *khs;
	size_t nkeys;
};

static void topo_add(struct topo_score *ts, const struct sterm *t, const char *value, int64_t w)
{
	char pair[600];
	*tpmap_at(&ts->m, tp_pair(pair, sizeof(pair), t->key, value)) += w;
	for (size_t i = 0; i < ts->nkeys; i++)
		if (ts->khs[i] == t->kh && !strcmp(ts->keys[i], t->key))
			return;
	ts->keys = xrealloc(ts->keys, (ts->nkeys + 1) * sizeof(char *));
	ts->khs = xrealloc(ts->khs, (ts->nkeys + 1) * sizeof(uint32_t));
	ts->khs[ts->nkeys] = t->kh;
	ts->keys[ts->nkeys++] = t->key;
}

struct ipa_score {
	struct sctx *c;
	struct topo_score *ts;
	const struct sterm *t;
	int sign;
};

static const struct snode *placed(const struct spod *e, const struct spod *self)
{
	if (!e->node || !e->node->present || !cJSON_GetArraySize(e->node->labels) || e == self ||
	    !strcmp(e->uid, self->uid))
		return NULL;
	return e->node;
}

/* An assigned pod that one of the incoming pod's preferred terms may match. */
static void on_preferred_candidate(void *arg, struct spod *e)
{
	struct ipa_score *w = arg;
	const struct snode *n = placed(e, w->c->p);
	const char *v = n ? sched_node_value(n, w->t->key, w->t->kh) : NULL;
	if (v && sched_term_matches(w->c->s, w->t, e, NULL))
		topo_add(w->ts, w->t, v, w->sign * w->t->weight);
}

/* A term of an assigned pod that may match the incoming pod: its required affinity counts
 * with upstream's default hardPodAffinityWeight of 1, its preferences with their weights. */
static void on_existing_term(void *arg, const struct tentry *te)
{
	struct ipa_score *w = arg;
	if (te->kind == T_RANTI)
		return;
	const struct snode *n = placed(te->p, w->c->p);
	const char *v = n ? sched_node_value(n, te->t->key, te->t->kh) : NULL;
	if (!v || !sched_term_matches(w->c->s, te->t, w->c->p, w->c->ns_labels))
		return;
	int64_t weight = te->kind == T_RAFF ? 1 : te->t->weight;
	topo_add(w->ts, te->t, v, te->kind == T_PANTI ? -weight : weight);
}

static bool score_pod_affinity(struct sctx *c, struct snode **nodes, size_t n, int64_t *out)
{
	struct scheduler *s = c->s;
	const struct saff *a = c->p->aff;
	bool has_pref = a && (a->npaff || a->npanti);
	if (!has_pref && !s->naff_pods)
		return false;
	struct topo_score ts = { 0 };
	struct ipa_score w = { c, &ts, NULL, 1 };
	for (size_t k = 0; has_pref && k < a->npaff; k++) {
		w.t = &a->paff[k];
		w.sign = 1;
		sched_each_candidate(s, w.t->sel, on_preferred_candidate, &w);
	}
	for (size_t k = 0; has_pref && k < a->npanti; k++) {
		w.t = &a->panti[k];
		w.sign = -1;
		sched_each_candidate(s, w.t->sel, on_preferred_candidate, &w);
	}
	if (s->naff_pods)
		sched_each_term_for(s, c->p->labels, on_existing_term, &w);
	if (!ts.m.len) {
		tpmap_free(&ts.m);
		free(ts.keys);
		free(ts.khs);
		return false;
	}
	char pair[600];
	int64_t min = INT64_MAX, max = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		for (size_t k = 0; k < ts.nkeys; k++) {
			const char *v = sched_node_value(nodes[i], ts.keys[k], ts.khs[k]);
			const int64_t *x =
			    v ? tpmap_find(&ts.m, tp_pair(pair, sizeof(pair), ts.keys[k], v))
			      : NULL;
			if (x)
				out[i] += *x;
		}
		min = MIN(min, out[i]);
		max = MAX(max, out[i]);
	}
	for (size_t i = 0; i < n; i++)
		out[i] = max > min ? (int64_t)((double)SCHED_MAX_SCORE * (double)(out[i] - min) /
		                               (double)(max - min))
		                   : 0;
	tpmap_free(&ts.m);
	free(ts.keys);
	free(ts.khs);
	return true;
}

/* --- PodTopologySpread ------------------------------------------------------------------ */

static bool soft_keys_present(const struct sctx *c, const struct snode *n)
{
	for (size_t k = 0; k < c->nsoft; k++)
		if (!sched_node_value(n, c->soft[k].key, c->soft[k].kh))
			return false;
	return true;
}

static bool included(const struct sctx *c, const struct stsc *t, const struct snode *n)
{
	if (t->honor_affinity && !sched_node_matches_affinity(c, n))
		return false;
	if (t->honor_taints && !sched_tolerates_all(c, n, false, NULL))
		return false;
	return true;
}

struct spread_score {
	struct sctx *c;
	struct stsc *t;
	bool req_all, host;
	int64_t *hostcnt;    /* by node idx */
	unsigned char *incl; /* by node idx: 0 unknown, 1 included, 2 not */
};

static void on_spread_pod(void *arg, struct spod *e)
{
	struct spread_score *w = arg;
	const struct snode *n = e->node;
	if (!n || !n->present || !sched_spread_counts(w->t, e, w->c->p->ns))
		return;
	if (w->host) {
		w->hostcnt[n->idx]++;
		return;
	}
	if (w->req_all && !soft_keys_present(w->c, n))
		return;
	if (!w->incl[n->idx])
		w->incl[n->idx] = included(w->c, w->t, n) ? 1 : 2;
	if (w->incl[n->idx] != 1)
		return;
	const char *v = sched_node_value(n, w->t->key, w->t->kh);
	int64_t *cell = tpmap_find(&w->t->counts, v ? v : "");
	if (cell)
		++*cell;
}

static bool score_spread(struct sctx *c, struct snode **nodes, size_t n, int64_t *out)
{
	struct scheduler *s = c->s;
	if (!c->nsoft || !n)
		return false;
	bool req_all = c->soft_required_all;
	size_t nignored = 0;
	double w[8];
	bool counted[8];
	size_t ns = MIN(c->nsoft, ARRAY_SIZE(w));
	/* Ignored nodes (missing a key, for the pod's own constraints) are marked with -1. */
	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		if (req_all && !soft_keys_present(c, nodes[i])) {
			out[i] = -1;
			nignored++;
		}
	}
	for (size_t k = 0; k < ns; k++) {
		struct stsc *t = &c->soft[k];
		bool host = !strcmp(t->key, LABEL_HOSTNAME), any_key = false;
		size_t size = 0;
		for (size_t i = 0; i < n && !host; i++) {
			if (out[i] < 0)
				continue;
			const char *v = sched_node_value(nodes[i], t->key, t->kh);
			any_key |= v != NULL;
			size_t before = t->counts.len;
			tpmap_at(&t->counts, v ? v : "");
			size += t->counts.len - before;
		}
		if (host)
			size = n - nignored;
		w[k] = log((double)size + 2);
		/* Only nodes that have the key are scored by it: without one, nothing to count. */
		counted[k] = !host && any_key;
	}
	/* Count the matching pods: per domain over every node the constraint includes, and
	 * per node for the hostname key. */
	struct spread_score sw = { c,
		                   NULL,
		                   req_all,
		                   false,
		                   xcalloc(s->nnodes + 1, sizeof(int64_t)),
		                   xcalloc(s->nnodes + 1, 1) };
	for (size_t k = 0; k < ns; k++) {
		sw.t = &c->soft[k];
		sw.host = !strcmp(sw.t->key, LABEL_HOSTNAME);
		if (!sw.host && !counted[k])
			continue;
		memset(sw.incl, 0, s->nnodes + 1);
		if (sw.t->by_owner)
			sched_each_owned(s, sw.t->owner, on_spread_pod, &sw);
		else
			sched_each_candidate(s, sw.t->sel, on_spread_pod, &sw);
	}
	int64_t min = INT64_MAX, max = 0;
	for (size_t i = 0; i < n; i++) {
		if (out[i] < 0)
			continue;
		double sc = 0;
		for (size_t k = 0; k < ns; k++) {
			const struct stsc *t = &c->soft[k];
			const char *v = sched_node_value(nodes[i], t->key, t->kh);
			if (!v)
				continue;
			int64_t cnt;
			if (!strcmp(t->key, LABEL_HOSTNAME)) {
				cnt = sw.hostcnt[nodes[i]->idx];
			} else {
				const int64_t *cell = tpmap_find(&t->counts, v);
				cnt = cell ? *cell : 0;
			}
			sc += (double)cnt * w[k] + (double)(t->max_skew - 1);
		}
		out[i] = (int64_t)llround(sc);
		min = MIN(min, out[i]);
		max = MAX(max, out[i]);
	}
	free(sw.hostcnt);
	free(sw.incl);
	for (size_t i = 0; i < n; i++) {
		if (out[i] < 0)
			out[i] = 0;
		else if (max == 0)
			out[i] = SCHED_MAX_SCORE;
		else
			out[i] = SCHED_MAX_SCORE * (max + min - out[i]) / max;
	}
	return true;
}

void sched_score(struct sctx *c, struct snode **nodes, size_t n, int64_t *total,
                 int64_t *per[SCHEDULER_NSCORES])
{
	static bool (*const plugins[SCHEDULER_NSCORES])(struct sctx *, struct snode **, size_t,
	                                                int64_t *) = {
		[SCHEDULER_SCORE_FIT] = score_fit,
		[SCHEDULER_SCORE_BALANCED] = score_balanced,
		[SCHEDULER_SCORE_NODE_AFFINITY] = score_node_affinity,
		[SCHEDULER_SCORE_TAINT] = score_taint,
		[SCHEDULER_SCORE_POD_AFFINITY] = score_pod_affinity,
		[SCHEDULER_SCORE_SPREAD] = score_spread,
	};
	int64_t *v = c->s->scratch;
	for (size_t i = 0; i < n; i++)
		total[i] = 0;
	for (int k = 0; k < SCHEDULER_NSCORES; k++) {
		bool on = plugins[k](c, nodes, n, v);
		for (size_t i = 0; i < n; i++) {
			if (per)
				per[k][i] = on ? v[i] : -1;
			if (on)
				total[i] += weights[k] * v[i];
		}
	}
}
