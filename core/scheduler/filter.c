/* filter: the incoming pod compiled once per attempt, and the filters that decide whether a
 * node can take it, with upstream's reasons when it cannot. */
#include <stdio.h>
#include <string.h>

#include "core/scheduler/scheduler-internal.h"

void reasons_add(struct reasons *r, const char *fmt, ...)
{
	if (!r)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= sizeof(r->buf) - r->len) {
		r->buf[r->len] = '\0';
		return; /* no room: the first reasons are the ones that matter */
	}
	r->len += (size_t)n + 1;
	r->n++;
}

/* --- node selectors ------------------------------------------------------------------ */

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	if (!s || !*s || *s == ' ')
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* A NodeSelectorTerm, checked as upstream parses it: an invalid requirement makes the whole
 * term match nothing. */
static void nterm_compile(const cJSON *term, struct nterm *t)
{
	const cJSON *exprs = obj_child(term, "matchExpressions");
	const cJSON *fields = obj_child(term, "matchFields");
	const cJSON *x;
	memset(t, 0, sizeof(*t));
	if (!cJSON_IsObject(term) || (exprs && !cJSON_IsArray(exprs) && !cJSON_IsNull(exprs)) ||
	    (fields && !cJSON_IsArray(fields) && !cJSON_IsNull(fields))) {
		t->bad = true;
		return;
	}
	t->empty = cJSON_GetArraySize(exprs) == 0 && cJSON_GetArraySize(fields) == 0;
	cJSON_ArrayForEach(x, jarr(exprs))
	{
		const char *key = obj_get_str(x, "key"), *op = obj_get_str(x, "operator");
		const cJSON *vals = obj_child(x, "values"), *v;
		size_t nv = (size_t)cJSON_GetArraySize(vals);
		if (!key || !op || obj_validate_qualified_name(key, NULL) < 0 ||
		    (vals && !cJSON_IsArray(vals) && !cJSON_IsNull(vals))) {
			t->bad = true;
			return;
		}
		t->reqs = xrealloc(t->reqs, (t->nreqs + 1) * sizeof(*t->reqs));
		struct nreq *r = &t->reqs[t->nreqs++];
		memset(r, 0, sizeof(*r));
		r->key = key;
		r->kh = sched_hash(key);
		if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
			r->op = !strcmp(op, "In") ? N_IN : N_NOT_IN;
			if (!nv) {
				t->bad = true;
				return;
			}
			r->values = xcalloc(nv, sizeof(char *));
			r->vh = xcalloc(nv, sizeof(uint32_t));
			cJSON_ArrayForEach(v, vals)
			{
				if (!cJSON_IsString(v) ||
				    obj_validate_label_value(v->valuestring, NULL) < 0) {
					t->bad = true;
					return;
				}
				r->vh[r->nvalues] = sched_hash(v->valuestring);
				r->values[r->nvalues++] = v->valuestring;
			}
		} else if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
			r->op = !strcmp(op, "Exists") ? N_EXISTS : N_NOT_EXISTS;
			if (nv) {
				t->bad = true;
				return;
			}
		} else if (!strcmp(op, "Gt") || !strcmp(op, "Lt")) {
			r->op = !strcmp(op, "Gt") ? N_GT : N_LT;
			if (nv != 1 || !cJSON_IsString(vals->child) ||
			    !parse_i64(vals->child->valuestring, &r->num)) {
				t->bad = true;
				return;
			}
		} else {
			t->bad = true;
			return;
		}
	}
	cJSON_ArrayForEach(x, jarr(fields))
	{
		const char *key = obj_get_str(x, "key"), *op = obj_get_str(x, "operator");
		const cJSON *vals = obj_child(x, "values");
		if (!key || !op || (strcmp(op, "In") && strcmp(op, "NotIn")) ||
		    cJSON_GetArraySize(vals) != 1 || !cJSON_IsArray(vals) ||
		    !cJSON_IsString(vals->child)) {
			t->bad = true;
			return;
		}
		t->fields = xrealloc(t->fields, (t->nfields + 1) * sizeof(*t->fields));
		t->fields[t->nfields].key = key;
		t->fields[t->nfields].in = !strcmp(op, "In");
		t->fields[t->nfields++].value = vals->child->valuestring;
	}
}

static void nterms_free(struct nterm *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < t[i].nreqs; j++) {
			free(t[i].reqs[j].values);
			free(t[i].reqs[j].vh);
		}
		free(t[i].reqs);
		free(t[i].fields);
	}
	free(t);
}

bool sched_nterm_matches(const struct nterm *t, const struct snode *n)
{
	if (t->bad || t->empty)
		return false;
	for (size_t i = 0; i < t->nreqs; i++) {
		const struct nreq *r = &t->reqs[i];
		const struct slabel *l = sched_node_label(n, r->key, r->kh);
		const char *v = l ? l->v : NULL;
		bool ok = false;
		int64_t x;
		switch (r->op) {
		case N_IN:
		case N_NOT_IN:
			for (size_t j = 0; v && j < r->nvalues && !ok; j++)
				ok = r->vh[j] == l->vh && !strcmp(v, r->values[j]);
			if (r->op == N_NOT_IN)
				ok = !ok;
			break;
		case N_EXISTS:
			ok = v != NULL;
			break;
		case N_NOT_EXISTS:
			ok = v == NULL;
			break;
		case N_GT:
		case N_LT:
			ok = parse_i64(v, &x) && (r->op == N_GT ? x > r->num : x < r->num);
			break;
		}
		if (!ok)
			return false;
	}
	/* Only metadata.name is a node field; any other reads as empty. */
	for (size_t i = 0; i < t->nfields; i++) {
		const char *have = !strcmp(t->fields[i].key, "metadata.name") ? n->name : "";
		bool eq = !strcmp(have, t->fields[i].value);
		if (eq != t->fields[i].in)
			return false;
	}
	return true;
}

/* nodeSelector and the required node affinity terms (ORed), as the NodeAffinity filter. */
bool sched_node_matches_affinity(const struct sctx *c, const struct snode *n)
{
	if (c->sel_bad)
		return false;
	for (size_t i = 0; i < c->nsel; i++) {
		const struct slabel *l = sched_node_label(n, c->sel_keys[i], c->sel_kh[i]);
		if (!l || l->vh != c->sel_vh[i] || strcmp(l->v, c->sel_values[i]))
			return false;
	}
	if (!c->has_req_affinity)
		return true;
	for (size_t i = 0; i < c->nreq_terms; i++)
		if (sched_nterm_matches(&c->req_terms[i], n))
			return true;
	return false;
}

/* --- taints ------------------------------------------------------------------------------ */

/* Upstream's ToleratesTaint: an empty effect matches every effect, an empty key with Exists
 * matches every taint, Equal (or no operator) wants the same value. */
static bool tolerates(const struct stol *t, const struct staint *taint)
{
	if (t->eff != EFF_ANY &&
	    (t->eff != taint->eff || (t->eff == EFF_OTHER && strcmp(t->effect, taint->effect))))
		return false;
	if (*t->key && strcmp(t->key, taint->key))
		return false;
	if (t->bad_op)
		return false;
	return t->exists || !strcmp(t->value, taint->value);
}

bool sched_tolerated(const struct sctx *c, const struct staint *taint)
{
	for (size_t i = 0; i < c->ntols; i++)
		if (tolerates(&c->tols[i], taint))
			return true;
	return false;
}

bool sched_tolerates_all(const struct sctx *c, const struct snode *n, bool prefer_too,
                         const struct staint **first)
{
	for (size_t i = 0; i < n->ntaints; i++) {
		const struct staint *t = &n->taints[i];
		bool hard = t->eff == EFF_NO_SCHEDULE || t->eff == EFF_NO_EXECUTE;
		bool soft = prefer_too && t->eff == EFF_PREFER_NO_SCHEDULE;
		if ((hard || soft) && !sched_tolerated(c, t)) {
			if (first)
				*first = t;
			return false;
		}
	}
	return true;
}

/* --- the pod's constraints ----------------------------------------------------------- */

static void tsc_free(struct stsc *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sel_free(t[i].sel);
		tpmap_free(&t[i].counts);
		free(t[i].eligible);
	}
	free(t);
}

static struct sel *tsc_selector(const cJSON *tc, const cJSON *pod_labels)
{
	const cJSON *ls = obj_child(tc, "labelSelector");
	const cJSON *mk = obj_child(tc, "matchLabelKeys");
	struct sel *sel = NULL;
	cJSON *merged = NULL;
	if (cJSON_IsObject(ls) && cJSON_GetArraySize(mk) > 0) {
		merged = cJSON_Duplicate(ls, true);
		cJSON *ml = cJSON_GetObjectItemCaseSensitive(merged, "matchLabels");
		if (!cJSON_IsObject(ml)) {
			cJSON_DeleteItemFromObjectCaseSensitive(merged, "matchLabels");
			ml = cJSON_AddObjectToObject(merged, "matchLabels");
		}
		const cJSON *k;
		cJSON_ArrayForEach(k, jarr(mk))
		{
			const char *v =
			    cJSON_IsString(k) ? sched_label(pod_labels, k->valuestring) : NULL;
			if (v && !obj_child(ml, k->valuestring))
				cJSON_AddStringToObject(ml, k->valuestring, v);
		}
		ls = merged;
	}
	if (sel_from_label_selector(ls, &sel, NULL) < 0)
		sel_from_label_selector(NULL, &sel, NULL);
	cJSON_Delete(merged);
	return sel;
}

static void compile_spread(struct sctx *c, const cJSON *arr)
{
	const cJSON *tc;
	cJSON_ArrayForEach(tc, jarr(arr))
	{
		const char *key = obj_get_str(tc, "topologyKey");
		const char *when = obj_get_str(tc, "whenUnsatisfiable");
		const char *nap = obj_get_str(tc, "nodeAffinityPolicy");
		const char *ntp = obj_get_str(tc, "nodeTaintsPolicy");
		int64_t skew = 1, md = 1;
		if (!key || !*key || !when)
			continue;
		obj_get_i64(tc, "maxSkew", &skew);
		if (obj_get(tc, "minDomains") && !cJSON_IsNull(obj_get(tc, "minDomains")))
			obj_get_i64(tc, "minDomains", &md);
		c->tsc = xrealloc(c->tsc, (c->ntsc + 1) * sizeof(*c->tsc));
		struct stsc *t = &c->tsc[c->ntsc++];
		memset(t, 0, sizeof(*t));
		t->key = key;
		t->kh = sched_hash(key);
		t->max_skew = (int32_t)MAX(skew, 1);
		t->min_domains = (int32_t)MAX(md, 1);
		t->hard = !strcmp(when, "DoNotSchedule");
		t->honor_affinity = !nap || strcmp(nap, "Ignore");
		t->honor_taints = ntp && !strcmp(ntp, "Honor");
		t->sel = tsc_selector(tc, c->p->labels);
		t->self_match = sel_matches(t->sel, c->p->labels);
	}
	/* Scoring spreads by the soft constraints; a pod with none at all but a controller
	 * spreads by upstream's system defaults: 3 per node, 5 per zone. */
	size_t nsoft = 0;
	for (size_t i = 0; i < c->ntsc; i++)
		nsoft += !c->tsc[i].hard;
	if (c->ntsc) {
		c->soft_required_all = true;
		c->soft = xcalloc(nsoft ? nsoft : 1, sizeof(*c->soft));
		for (size_t i = 0; i < c->ntsc; i++)
			if (!c->tsc[i].hard) {
				/* A copy that borrows the selector and counts for itself. */
				c->soft[c->nsoft] = c->tsc[i];
				memset(&c->soft[c->nsoft++].counts, 0, sizeof(struct tpmap));
			}
	} else if (c->p->owner) {
		static const struct {
			const char *key;
			int32_t skew;
		} defs[] = { { LABEL_HOSTNAME, 3 }, { LABEL_ZONE, 5 } };
		c->soft = xcalloc(2, sizeof(*c->soft));
		for (size_t i = 0; i < 2; i++) {
			struct stsc *t = &c->soft[c->nsoft++];
			t->key = defs[i].key;
			t->kh = sched_hash(t->key);
			t->max_skew = defs[i].skew;
			t->min_domains = 1;
			t->by_owner = true;
			t->owner = c->p->owner;
			t->honor_affinity = true;
		}
	}
}

int sched_ctx_init(struct scheduler *s, struct sctx *c, struct spod *p, const cJSON *pod)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->p = p;
	c->pod = pod;
	const cJSON *spec = obj_child(pod, "spec"), *x;
	const char *nn = obj_get_str(spec, "nodeName");
	c->node_name = nn && *nn ? nn : NULL;

	const cJSON *ns = obj_child(spec, "nodeSelector");
	if (ns && !cJSON_IsNull(ns) && !cJSON_IsObject(ns))
		c->sel_bad = true;
	size_t nsel = (size_t)cJSON_GetArraySize(jobj(ns));
	if (nsel) {
		c->sel_keys = xcalloc(nsel, sizeof(char *));
		c->sel_values = xcalloc(nsel, sizeof(char *));
		c->sel_kh = xcalloc(nsel, sizeof(uint32_t));
		c->sel_vh = xcalloc(nsel, sizeof(uint32_t));
	}
	cJSON_ArrayForEach(x, jobj(ns))
	{
		if (!cJSON_IsString(x)) {
			c->sel_bad = true;
			continue;
		}
		c->sel_kh[c->nsel] = sched_hash(x->string);
		c->sel_vh[c->nsel] = sched_hash(x->valuestring);
		c->sel_keys[c->nsel] = x->string;
		c->sel_values[c->nsel++] = x->valuestring;
	}

	const cJSON *na = obj_get(spec, "affinity.nodeAffinity");
	const cJSON *req = obj_child(na, "requiredDuringSchedulingIgnoredDuringExecution");
	if (cJSON_IsObject(req)) {
		const cJSON *terms = obj_child(req, "nodeSelectorTerms");
		c->has_req_affinity = true;
		size_t n = (size_t)cJSON_GetArraySize(jarr(terms));
		c->req_terms = xcalloc(n ? n : 1, sizeof(*c->req_terms));
		cJSON_ArrayForEach(x, jarr(terms)) nterm_compile(x, &c->req_terms[c->nreq_terms++]);
	}
	const cJSON *pref = obj_child(na, "preferredDuringSchedulingIgnoredDuringExecution");
	size_t np = (size_t)cJSON_GetArraySize(jarr(pref));
	if (np)
		c->pref_terms = xcalloc(np, sizeof(*c->pref_terms));
	cJSON_ArrayForEach(x, jarr(pref))
	{
		int64_t w = 0;
		obj_get_i64(x, "weight", &w);
		struct nterm *t = &c->pref_terms[c->npref_terms++];
		nterm_compile(obj_child(x, "preference"), t);
		t->weight = (int32_t)MAX(MIN(w, 100), 0);
	}

	const cJSON *tols = obj_child(spec, "tolerations");
	size_t nt = (size_t)cJSON_GetArraySize(jarr(tols));
	if (nt)
		c->tols = xcalloc(nt, sizeof(*c->tols));
	cJSON_ArrayForEach(x, jarr(tols))
	{
		if (!cJSON_IsObject(x))
			continue;
		struct stol *t = &c->tols[c->ntols++];
		const char *v;
		t->key = (v = obj_get_str(x, "key")) ? v : "";
		t->op = (v = obj_get_str(x, "operator")) ? v : "";
		t->value = (v = obj_get_str(x, "value")) ? v : "";
		t->effect = (v = obj_get_str(x, "effect")) ? v : "";
		t->eff = sched_effect(t->effect);
		t->exists = !strcmp(t->op, "Exists");
		t->bad_op = !t->exists && *t->op && strcmp(t->op, "Equal");
	}

	compile_spread(c, obj_child(spec, "topologySpreadConstraints"));
	c->best_effort = p->req.cpu == 0 && p->req.mem == 0;
	const char *pp = obj_get_str(spec, "preemptionPolicy");
	c->preempt_never = pp && !strcmp(pp, "Never");
	c->ns_labels = sched_ns_labels(s, p->ns);
	return 0;
}

void sched_ctx_free(struct sctx *c)
{
	free(c->sel_keys);
	free(c->sel_values);
	free(c->sel_kh);
	free(c->sel_vh);
	nterms_free(c->req_terms, c->nreq_terms);
	nterms_free(c->pref_terms, c->npref_terms);
	free(c->tols);
	tsc_free(c->tsc, c->ntsc);
	for (size_t i = 0; i < c->nsoft; i++)
		tpmap_free(&c->soft[i].counts);
	free(c->soft); /* selectors belong to tsc */
	tpmap_free(&c->ipa_aff);
	tpmap_free(&c->ipa_anti);
	tpmap_free(&c->ipa_existing);
	free(c->existing_terms);
	memset(c, 0, sizeof(*c));
}

/* --- pre-filter: what the pod-to-pod filters need, counted once per attempt ---------- */

static bool all_terms_match(struct scheduler *s, const struct sterm *t, size_t n,
                            const struct spod *p)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sched_term_matches(s, &t[i], p, NULL))
			return false;
	return true;
}

/* The node an assigned pod counts on, when it is a node with labels to match topologies. */
static const struct snode *placed(const struct spod *e, const struct spod *self)
{
	if (!e->node || !e->node->present || e == self || !strcmp(e->uid, self->uid))
		return NULL;
	return e->node;
}

struct ipa_walk {
	struct sctx *c;
	size_t k;
};

/* An existing pod's required anti-affinity the incoming pod would break. */
static void on_existing_term(void *arg, const struct tentry *te)
{
	struct sctx *c = arg;
	char pair[600];
	const struct snode *n = te->kind == T_RANTI ? placed(te->p, c->p) : NULL;
	const char *v = n ? sched_node_value(n, te->t->key, te->t->kh) : NULL;
	if (!v || !sched_term_matches(c->s, te->t, c->p, c->ns_labels))
		return;
	++*tpmap_at(&c->ipa_existing, tp_pair(pair, sizeof(pair), te->t->key, v));
	for (size_t k = 0; k < c->nexisting_keys; k++)
		if (!strcmp(c->existing_terms[k]->key, te->t->key))
			return;
	c->existing_terms =
	    xrealloc(c->existing_terms, (c->nexisting_keys + 1) * sizeof(*c->existing_terms));
	c->existing_terms[c->nexisting_keys++] = te->t;
}

/* Pods that match every required affinity term, counted per topology of each term. */
static void on_affinity_candidate(void *arg, struct spod *e)
{
	struct sctx *c = arg;
	const struct saff *aff = c->p->aff;
	const struct snode *n = placed(e, c->p);
	char pair[600];
	if (!n || !all_terms_match(c->s, aff->raff, aff->nraff, e))
		return;
	for (size_t k = 0; k < aff->nraff; k++) {
		const char *v = sched_node_value(n, aff->raff[k].key, aff->raff[k].kh);
		if (v)
			++*tpmap_at(&c->ipa_aff, tp_pair(pair, sizeof(pair), aff->raff[k].key, v));
	}
}

static void on_anti_candidate(void *arg, struct spod *e)
{
	struct ipa_walk *w = arg;
	const struct sterm *t = &w->c->p->aff->ranti[w->k];
	const struct snode *n = placed(e, w->c->p);
	const char *v = n ? sched_node_value(n, t->key, t->kh) : NULL;
	char pair[600];
	if (v && sched_term_matches(w->c->s, t, e, NULL))
		++*tpmap_at(&w->c->ipa_anti, tp_pair(pair, sizeof(pair), t->key, v));
}

static void prefilter_affinity(struct sctx *c)
{
	struct scheduler *s = c->s;
	const struct saff *aff = c->p->aff;
	bool own = aff && (aff->nraff || aff->nranti);
	c->ipa_active = own || s->nanti_pods > 0;
	if (!c->ipa_active)
		return;
	if (s->nanti_pods)
		sched_each_term_for(s, c->p->labels, on_existing_term, c);
	if (aff && aff->nraff)
		sched_each_candidate(s, aff->raff[0].sel, on_affinity_candidate, c);
	for (size_t k = 0; aff && k < aff->nranti; k++) {
		struct ipa_walk w = { c, k };
		sched_each_candidate(s, aff->ranti[k].sel, on_anti_candidate, &w);
	}
	/* The first of a group of pods with affinity to each other has nothing to follow: it
	 * may go anywhere that has the topology keys, if it matches its own terms. */
	c->ipa_self_ok = aff && aff->nraff && c->ipa_aff.len == 0 &&
	                 all_terms_match(s, aff->raff, aff->nraff, c->p);
}

static bool keys_present(const struct snode *n, const struct stsc *t, size_t nt, bool hard_only)
{
	for (size_t i = 0; i < nt; i++)
		if ((!hard_only || t[i].hard) && !sched_node_value(n, t[i].key, t[i].kh))
			return false;
	return true;
}

bool sched_spread_counts(const struct stsc *t, const struct spod *e, const char *ns)
{
	if (e->terminating || strcmp(e->ns, ns))
		return false;
	return t->by_owner ? e->owner && !strcmp(e->owner, t->owner)
	                   : sel_matches(t->sel, e->labels);
}

struct spread_walk {
	struct sctx *c;
	struct stsc *t;
};

static void on_spread_candidate(void *arg, struct spod *e)
{
	struct spread_walk *w = arg;
	const struct snode *n = e->node;
	if (!n || !n->present || !w->t->eligible[n->idx] ||
	    !sched_spread_counts(w->t, e, w->c->p->ns))
		return;
	++*tpmap_at(&w->t->counts, sched_node_value(n, w->t->key, w->t->kh));
}

/* Matching pods per domain of each DoNotSchedule constraint, over the nodes that have every
 * constraint's key and pass its inclusion policies; and the smallest count. */
static void prefilter_spread(struct sctx *c)
{
	struct scheduler *s = c->s;
	for (size_t i = 0; i < c->ntsc; i++)
		c->spread_active |= c->tsc[i].hard;
	if (!c->spread_active)
		return;
	for (size_t k = 0; k < c->ntsc; k++)
		if (c->tsc[k].hard)
			c->tsc[k].eligible = xcalloc(s->nnodes ? s->nnodes : 1, 1);
	for (size_t i = 0; i < s->nnodes; i++) {
		const struct snode *n = s->nodes[i];
		if (!keys_present(n, c->tsc, c->ntsc, true))
			continue;
		int aff = -1;
		for (size_t k = 0; k < c->ntsc; k++) {
			struct stsc *t = &c->tsc[k];
			if (!t->hard)
				continue;
			if (t->honor_affinity) {
				if (aff < 0)
					aff = sched_node_matches_affinity(c, n);
				if (!aff)
					continue;
			}
			if (t->honor_taints && !sched_tolerates_all(c, n, false, NULL))
				continue;
			t->eligible[i] = 1;
			tpmap_at(&t->counts, sched_node_value(n, t->key, t->kh));
		}
	}
	for (size_t k = 0; k < c->ntsc; k++) {
		struct stsc *t = &c->tsc[k];
		if (!t->hard)
			continue;
		struct spread_walk w = { c, t };
		sched_each_candidate(s, t->sel, on_spread_candidate, &w);
		t->min = INT32_MAX;
		t->domains = t->counts.len;
		for (size_t j = 0; j < t->counts.cap; j++)
			if (t->counts.slots[j].key)
				t->min = MIN(t->min, t->counts.slots[j].v);
	}
}

void sched_prefilter(struct sctx *c)
{
	prefilter_affinity(c);
	prefilter_spread(c);
}

/* --- the filters ------------------------------------------------------------------------ */

static bool ports_conflict(const struct snode *n, const struct sport *w)
{
	bool any = !strcmp(w->ip, "0.0.0.0");
	for (size_t i = 0; i < n->nports; i++) {
		const struct sport *u = &n->ports[i];
		if (u->port != w->port || strcmp(u->proto, w->proto))
			continue;
		if (any || !strcmp(u->ip, "0.0.0.0") || !strcmp(u->ip, w->ip))
			return true;
	}
	return false;
}

static unsigned filter_fit(struct sctx *c, const struct snode *n, struct reasons *r)
{
	const struct sres *q = &c->p->req;
	unsigned bad = 0;
	if ((int64_t)n->npods + 1 > n->alloc_pods) {
		reasons_add(r, "Too many pods");
		bad = F_FIT;
		if (!r)
			return bad;
	}
	if (q->cpu > 0 && q->cpu > n->alloc.cpu - n->req.cpu) {
		reasons_add(r, "Insufficient cpu");
		bad = F_FIT;
	}
	if (q->mem > 0 && q->mem > n->alloc.mem - n->req.mem) {
		reasons_add(r, "Insufficient memory");
		bad = F_FIT;
	}
	if (q->eph > 0 && q->eph > n->alloc.eph - n->req.eph) {
		reasons_add(r, "Insufficient ephemeral-storage");
		bad = F_FIT;
	}
	for (uint32_t i = 0; i < q->next && (r || !bad); i++) {
		uint32_t id = q->ext[i].id;
		if (q->ext[i].v > 0 &&
		    q->ext[i].v > sres_ext_get(&n->alloc, id) - sres_ext_get(&n->req, id)) {
			reasons_add(r, "Insufficient %s", c->s->res_names[id]);
			bad = F_FIT;
		}
	}
	return bad;
}

static unsigned filter_spread(struct sctx *c, const struct snode *n, struct reasons *r)
{
	for (size_t k = 0; k < c->ntsc; k++) {
		const struct stsc *t = &c->tsc[k];
		if (!t->hard)
			continue;
		const char *v = sched_node_value(n, t->key, t->kh);
		if (!v) {
			reasons_add(r, "node(s) didn't match pod topology spread constraints "
			               "(missing required label)");
			return F_SPREAD;
		}
		int64_t min = (int64_t)t->domains < t->min_domains ? 0 : t->min;
		const int64_t *have = tpmap_find(&t->counts, v);
		int64_t skew = (have ? *have : 0) + (t->self_match ? 1 : 0) - min;
		if (skew > t->max_skew) {
			reasons_add(r, "node(s) didn't match pod topology spread constraints");
			return F_SPREAD;
		}
	}
	return 0;
}

static unsigned filter_pod_affinity(struct sctx *c, const struct snode *n, struct reasons *r)
{
	const struct saff *aff = c->p->aff;
	char pair[600];
	if (aff && aff->nraff) {
		bool exist = true;
		for (size_t k = 0; k < aff->nraff; k++) {
			const char *v = sched_node_value(n, aff->raff[k].key, aff->raff[k].kh);
			if (!v) {
				reasons_add(r, "node(s) didn't match pod affinity rules");
				return F_POD_AFFINITY;
			}
			const int64_t *cnt = tpmap_find(
			    &c->ipa_aff, tp_pair(pair, sizeof(pair), aff->raff[k].key, v));
			if (!cnt || *cnt <= 0)
				exist = false;
		}
		if (!exist && !c->ipa_self_ok) {
			reasons_add(r, "node(s) didn't match pod affinity rules");
			return F_POD_AFFINITY;
		}
	}
	for (size_t k = 0; aff && k < aff->nranti; k++) {
		const char *v = sched_node_value(n, aff->ranti[k].key, aff->ranti[k].kh);
		const int64_t *cnt =
		    v ? tpmap_find(&c->ipa_anti, tp_pair(pair, sizeof(pair), aff->ranti[k].key, v))
		      : NULL;
		if (cnt && *cnt > 0) {
			reasons_add(r, "node(s) didn't match pod anti-affinity rules");
			return F_POD_AFFINITY;
		}
	}
	/* Only the topology keys the existing terms use can match a node label. */
	for (size_t k = 0; k < c->nexisting_keys; k++) {
		const struct sterm *t = c->existing_terms[k];
		const char *v = sched_node_value(n, t->key, t->kh);
		const int64_t *cnt =
		    v ? tpmap_find(&c->ipa_existing, tp_pair(pair, sizeof(pair), t->key, v)) : NULL;
		if (cnt && *cnt > 0) {
			reasons_add(r, "node(s) didn't satisfy existing pods anti-affinity rules");
			return F_POD_AFFINITY;
		}
	}
	return 0;
}

unsigned sched_filter(struct sctx *c, struct snode *n, struct reasons *r)
{
	if (n->unschedulable) {
		struct staint t = { (char *)TAINT_UNSCHEDULABLE, (char *)"", (char *)"NoSchedule",
			            EFF_NO_SCHEDULE };
		bool ok = false;
		for (size_t i = 0; i < c->ntols && !ok; i++)
			ok = tolerates(&c->tols[i], &t);
		if (!ok) {
			reasons_add(r, "node(s) were unschedulable");
			return F_UNSCHEDULABLE;
		}
	}
	if (c->node_name && strcmp(c->node_name, n->name)) {
		reasons_add(r, "node(s) didn't match the requested node name");
		return F_NODE_NAME;
	}
	const struct staint *bad = NULL;
	if (n->ntaints && !sched_tolerates_all(c, n, false, &bad)) {
		reasons_add(r, "node(s) had untolerated taint {%s: %s}", bad->key, bad->value);
		return F_TAINT;
	}
	if (!sched_node_matches_affinity(c, n)) {
		reasons_add(r, "node(s) didn't match Pod's node affinity/selector");
		return F_NODE_AFFINITY;
	}
	for (size_t i = 0; i < c->p->nports; i++)
		if (ports_conflict(n, &c->p->ports[i])) {
			reasons_add(r,
			            "node(s) didn't have free ports for the requested pod ports");
			return F_PORTS;
		}
	unsigned f = filter_fit(c, n, r);
	if (f)
		return f;
	if (c->spread_active && (f = filter_spread(c, n, r)))
		return f;
	if (c->ipa_active && (f = filter_pod_affinity(c, n, r)))
		return f;
	return 0;
}
