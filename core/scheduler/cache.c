/* cache: what the scheduler knows of nodes and pods, kept as compact per-node summaries. */
#include <stdio.h>
#include <string.h>

#define LOG_TAG "scheduler"
#include "core/log/log.h"
#include "core/scheduler/scheduler-internal.h"

/* --- topology maps ---------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct tpmap_slot *tpmap_slot(const struct tpmap *m, const char *key)
{
	size_t i = hash_str(key) & (m->cap - 1);
	while (m->slots[i].key && strcmp(m->slots[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

int64_t *tpmap_find(const struct tpmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	struct tpmap_slot *sl = tpmap_slot(m, key);
	return sl->key ? &sl->v : NULL;
}

int64_t *tpmap_at(struct tpmap *m, const char *key)
{
	if ((m->len + 1) * 4 >= m->cap * 3) {
		struct tpmap old = *m;
		m->cap = old.cap ? old.cap * 2 : 16;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
		for (size_t i = 0; i < old.cap; i++)
			if (old.slots[i].key)
				*tpmap_slot(m, old.slots[i].key) = old.slots[i];
		free(old.slots);
	}
	struct tpmap_slot *sl = tpmap_slot(m, key);
	if (!sl->key) {
		sl->key = xstrdup(key);
		sl->v = 0;
		m->len++;
	}
	return &sl->v;
}

void tpmap_free(struct tpmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

const char *tp_pair(char *buf, size_t n, const char *key, const char *value)
{
	/* Hot in the pod-to-pod rules: plain copies rather than snprintf. */
	size_t kl = strlen(key), vl = strlen(value);
	if (kl + vl + 2 > n) {
		kl = MIN(kl, n / 2 - 1);
		vl = MIN(vl, n - kl - 2);
	}
	memcpy(buf, key, kl);
	buf[kl] = '\x1f';
	memcpy(buf + kl + 1, value, vl);
	buf[kl + 1 + vl] = '\0';
	return buf;
}

uint64_t sched_rand(struct scheduler *s)
{
	/* xorshift64*: plenty for breaking ties. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

/* --- resources -------------------------------------------------------------------- */

uint32_t sched_res_id(struct scheduler *s, const char *name)
{
	uintptr_t id = (uintptr_t)strmap_get(&s->res_ids, name);
	if (id)
		return (uint32_t)(id - 1);
	s->res_names = xrealloc(s->res_names, (s->nres + 1) * sizeof(char *));
	s->res_names[s->nres] = xstrdup(name);
	strmap_put(&s->res_ids, name, (void *)(uintptr_t)(s->nres + 1));
	return s->nres++;
}

static int64_t *ext_cell(struct sres *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->next; i++)
		if (r->ext[i].id == id)
			return &r->ext[i].v;
	r->ext = xrealloc(r->ext, (r->next + 1) * sizeof(*r->ext));
	r->ext[r->next].id = id;
	r->ext[r->next].v = 0;
	return &r->ext[r->next++].v;
}

int64_t sres_ext_get(const struct sres *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->next; i++)
		if (r->ext[i].id == id)
			return r->ext[i].v;
	return 0;
}

void sres_add(struct sres *a, const struct sres *b, int sign)
{
	a->cpu += sign * b->cpu;
	a->mem += sign * b->mem;
	a->eph += sign * b->eph;
	for (uint32_t i = 0; i < b->next; i++)
		*ext_cell(a, b->ext[i].id) += sign * b->ext[i].v;
}

static void sres_max(struct sres *a, const struct sres *b)
{
	a->cpu = MAX(a->cpu, b->cpu);
	a->mem = MAX(a->mem, b->mem);
	a->eph = MAX(a->eph, b->eph);
	for (uint32_t i = 0; i < b->next; i++) {
		int64_t *c = ext_cell(a, b->ext[i].id);
		*c = MAX(*c, b->ext[i].v);
	}
}

static void sres_copy(struct sres *dst, const struct sres *src)
{
	sres_free(dst);
	sres_add(dst, src, 1);
}

void sres_free(struct sres *r)
{
	free(r->ext);
	memset(r, 0, sizeof(*r));
}

/* A quantity as the scheduler counts it; unparseable or negative ones count as nothing. */
static int64_t qty_of(const cJSON *v, bool milli)
{
	struct qty q;
	int64_t out = 0;
	if (qty_from_json(v, &q, NULL) < 0 || q.neg)
		return 0;
	if ((milli ? qty_milli(&q, &out) : qty_value(&q, &out)) < 0)
		return INT64_MAX / 4; /* absurdly large: fits nowhere, but sums do not overflow */
	return out;
}

/* A ResourceList into r (added to what r holds). */
static void parse_rl(struct scheduler *s, const cJSON *rl, struct sres *r, bool *has_cpu,
                     bool *has_mem)
{
	const cJSON *q;
	cJSON_ArrayForEach(q, jobj(rl))
	{
		if (!strcmp(q->string, "cpu")) {
			r->cpu += qty_of(q, true);
			if (has_cpu)
				*has_cpu = true;
		} else if (!strcmp(q->string, "memory")) {
			r->mem += qty_of(q, false);
			if (has_mem)
				*has_mem = true;
		} else if (!strcmp(q->string, "ephemeral-storage")) {
			r->eph += qty_of(q, false);
		} else if (strcmp(q->string, "pods")) {
			int64_t v = qty_of(q, false);
			if (v)
				*ext_cell(r, sched_res_id(s, q->string)) += v;
		}
	}
}

/* The two requests scoring uses: a container that asks for no cpu (memory) counts as 100m
 * (200Mi), so that pods without requests still spread. */
struct nz {
	int64_t cpu, mem;
};

static struct nz container_requests(struct scheduler *s, const cJSON *c, struct sres *r)
{
	bool hc = false, hm = false;
	memset(r, 0, sizeof(*r));
	parse_rl(s, obj_get(c, "resources.requests"), r, &hc, &hm);
	struct nz nz = { hc ? r->cpu : SCHED_DEFAULT_MILLI_CPU,
		         hm ? r->mem : SCHED_DEFAULT_MEMORY };
	return nz;
}

/*
 * What a pod requests, as upstream's resource helpers count it: the sum of its containers
 * and its sidecars (init containers with restartPolicy Always), or the largest init
 * container plus the sidecars started before it if that is more, then pod-level requests
 * where set, plus the runtime's overhead.
 */
static void pod_requests(struct scheduler *s, const cJSON *spec, struct sres *req, struct nz *nz)
{
	struct sres side = { 0 }, init = { 0 }, c = { 0 }, cand = { 0 };
	struct nz nside = { 0, 0 }, ninit = { 0, 0 };
	const cJSON *it;
	memset(req, 0, sizeof(*req));
	nz->cpu = nz->mem = 0;
	cJSON_ArrayForEach(it, jarr(obj_child(spec, "containers")))
	{
		struct nz n = container_requests(s, it, &c);
		sres_add(req, &c, 1);
		nz->cpu += n.cpu;
		nz->mem += n.mem;
		sres_free(&c);
	}
	cJSON_ArrayForEach(it, jarr(obj_child(spec, "initContainers")))
	{
		struct nz n = container_requests(s, it, &c);
		const char *rp = obj_get_str(it, "restartPolicy");
		struct nz ncand;
		if (rp && !strcmp(rp, "Always")) {
			sres_add(req, &c, 1);
			sres_add(&side, &c, 1);
			nz->cpu += n.cpu;
			nz->mem += n.mem;
			nside.cpu += n.cpu;
			nside.mem += n.mem;
			sres_copy(&cand, &side);
			ncand = nside;
		} else {
			sres_copy(&cand, &c);
			sres_add(&cand, &side, 1);
			ncand.cpu = n.cpu + nside.cpu;
			ncand.mem = n.mem + nside.mem;
		}
		sres_max(&init, &cand);
		ninit.cpu = MAX(ninit.cpu, ncand.cpu);
		ninit.mem = MAX(ninit.mem, ncand.mem);
		sres_free(&c);
	}
	sres_max(req, &init);
	nz->cpu = MAX(nz->cpu, ninit.cpu);
	nz->mem = MAX(nz->mem, ninit.mem);
	/* Pod-level requests (spec.resources) stand for the containers' cpu and memory. */
	const cJSON *pl = obj_get(spec, "resources.requests");
	if (cJSON_IsObject(pl)) {
		const cJSON *v;
		if ((v = obj_child(pl, "cpu")))
			req->cpu = nz->cpu = qty_of(v, true);
		if ((v = obj_child(pl, "memory")))
			req->mem = nz->mem = qty_of(v, false);
	}
	struct sres ov = { 0 };
	parse_rl(s, obj_child(spec, "overhead"), &ov, NULL, NULL);
	sres_add(req, &ov, 1);
	nz->cpu += ov.cpu;
	nz->mem += ov.mem;
	sres_free(&ov);
	sres_free(&side);
	sres_free(&init);
	sres_free(&cand);
}

/* Host ports of the app containers; with hostNetwork every container port is one. */
static void pod_ports(const cJSON *spec, struct spod *p)
{
	bool host_net = false;
	obj_get_bool(spec, "hostNetwork", &host_net);
	const cJSON *c, *port;
	cJSON_ArrayForEach(c, jarr(obj_child(spec, "containers")))
	{
		cJSON_ArrayForEach(port, jarr(obj_child(c, "ports")))
		{
			int64_t hp = 0;
			obj_get_i64(port, "hostPort", &hp);
			if (hp <= 0 && host_net)
				obj_get_i64(port, "containerPort", &hp);
			if (hp <= 0 || hp > 65535)
				continue;
			p->ports = xrealloc(p->ports, (p->nports + 1) * sizeof(*p->ports));
			struct sport *sp = &p->ports[p->nports++];
			memset(sp, 0, sizeof(*sp));
			const char *ip = obj_get_str(port, "hostIP");
			const char *proto = obj_get_str(port, "protocol");
			snprintf(sp->ip, sizeof(sp->ip), "%s", ip && *ip ? ip : "0.0.0.0");
			snprintf(sp->proto, sizeof(sp->proto), "%s",
			         proto && *proto ? proto : "TCP");
			sp->port = (int32_t)hp;
			sp->owner = p;
		}
	}
}

static const char *controller_owner(const cJSON *pod)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, jarr(obj_get(pod, "metadata.ownerReferences")))
	{
		bool ctl = false;
		const char *kind = obj_get_str(o, "kind");
		if (!obj_get_bool(o, "controller", &ctl) || !ctl || !kind)
			continue;
		if (strcmp(kind, "ReplicaSet") && strcmp(kind, "ReplicationController") &&
		    strcmp(kind, "StatefulSet"))
			return NULL;
		return obj_get_str(o, "uid");
	}
	return NULL;
}

/* --- pod affinity terms ----------------------------------------------------------- */

/* labelSelector with matchLabelKeys (In the pod's value) and mismatchLabelKeys (NotIn)
 * merged in, as the API server does on newer releases. */
static struct sel *term_selector(const cJSON *term, const cJSON *pod_labels)
{
	const cJSON *ls = obj_child(term, "labelSelector");
	const cJSON *mk = obj_child(term, "matchLabelKeys");
	const cJSON *xk = obj_child(term, "mismatchLabelKeys");
	struct sel *sel = NULL;
	cJSON *merged = NULL;
	if (cJSON_IsObject(ls) && (cJSON_GetArraySize(mk) > 0 || cJSON_GetArraySize(xk) > 0)) {
		merged = cJSON_Duplicate(ls, true);
		cJSON *me = cJSON_GetObjectItemCaseSensitive(merged, "matchExpressions");
		if (!cJSON_IsArray(me)) {
			cJSON_DeleteItemFromObjectCaseSensitive(merged, "matchExpressions");
			me = cJSON_AddArrayToObject(merged, "matchExpressions");
		}
		for (int pass = 0; pass < 2; pass++) {
			const cJSON *k;
			cJSON_ArrayForEach(k, jarr(pass ? xk : mk))
			{
				const char *v = cJSON_IsString(k)
				                    ? sched_label(pod_labels, k->valuestring)
				                    : NULL;
				if (!v)
					continue;
				cJSON *e = cJSON_CreateObject();
				cJSON_AddStringToObject(e, "key", k->valuestring);
				cJSON_AddStringToObject(e, "operator", pass ? "NotIn" : "In");
				cJSON_AddItemToArray(cJSON_AddArrayToObject(e, "values"),
				                     cJSON_CreateString(v));
				cJSON_AddItemToArray(me, e);
			}
		}
		ls = merged;
	}
	if (sel_from_label_selector(ls, &sel, NULL) < 0)
		sel_from_label_selector(NULL, &sel, NULL); /* invalid: selects nothing */
	cJSON_Delete(merged);
	return sel;
}

int sched_compile_terms(struct scheduler *s, const cJSON *arr, bool weighted, const char *ns,
                        const cJSON *pod_labels, struct sterm **out, size_t *n)
{
	const cJSON *it;
	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(arr))
		return 0;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *term = weighted ? obj_child(it, "podAffinityTerm") : it;
		if (!cJSON_IsObject(term))
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		struct sterm *t = &(*out)[(*n)++];
		memset(t, 0, sizeof(*t));
		int64_t w = 0;
		if (weighted)
			obj_get_i64(it, "weight", &w);
		t->weight = (int32_t)MAX(MIN(w, 100), 0);
		const char *key = obj_get_str(term, "topologyKey");
		t->key = xstrdup(key ? key : "");
		t->kh = sched_hash(t->key);
		t->sel = term_selector(term, pod_labels);
		const cJSON *nss = obj_child(term, "namespaces"), *x;
		cJSON_ArrayForEach(x, jarr(nss))
		{
			if (!cJSON_IsString(x))
				continue;
			t->nss = xrealloc(t->nss, (t->nns + 1) * sizeof(char *));
			t->nss[t->nns++] = xstrdup(x->valuestring);
		}
		const cJSON *nsel = obj_child(term, "namespaceSelector");
		if (cJSON_IsObject(nsel) && sel_from_label_selector(nsel, &t->nssel, NULL) < 0)
			t->nssel = NULL;
		if (!t->nns && !t->nssel) {
			t->nss = xcalloc(1, sizeof(char *));
			t->nss[0] = xstrdup(ns ? ns : "");
			t->nns = 1;
		}
	}
	return 0;
}

void sched_free_terms(struct sterm *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sel_free(t[i].sel);
		sel_free(t[i].nssel);
		for (size_t j = 0; j < t[i].nns; j++)
			free(t[i].nss[j]);
		free(t[i].nss);
		free(t[i].key);
	}
	free(t);
}

static void aff_free(struct saff *a)
{
	if (!a)
		return;
	sched_free_terms(a->raff, a->nraff);
	sched_free_terms(a->ranti, a->nranti);
	sched_free_terms(a->paff, a->npaff);
	sched_free_terms(a->panti, a->npanti);
	free(a);
}

static struct saff *aff_compile(struct scheduler *s, const cJSON *pod, const char *ns,
                                const cJSON *labels)
{
	const cJSON *pa = obj_get(pod, "spec.affinity.podAffinity");
	const cJSON *pn = obj_get(pod, "spec.affinity.podAntiAffinity");
	if (!cJSON_IsObject(pa) && !cJSON_IsObject(pn))
		return NULL;
	struct saff *a = xcalloc(1, sizeof(*a));
	const char *req = "requiredDuringSchedulingIgnoredDuringExecution";
	const char *pref = "preferredDuringSchedulingIgnoredDuringExecution";
	sched_compile_terms(s, obj_child(pa, req), false, ns, labels, &a->raff, &a->nraff);
	sched_compile_terms(s, obj_child(pn, req), false, ns, labels, &a->ranti, &a->nranti);
	sched_compile_terms(s, obj_child(pa, pref), true, ns, labels, &a->paff, &a->npaff);
	sched_compile_terms(s, obj_child(pn, pref), true, ns, labels, &a->panti, &a->npanti);
	if (!a->nraff && !a->nranti && !a->npaff && !a->npanti) {
		aff_free(a);
		return NULL;
	}
	return a;
}

const cJSON *sched_ns_labels(struct scheduler *s, const char *ns)
{
	const cJSON *o = s->ns_inf ? informer_get(s->ns_inf, NULL, ns) : NULL;
	return obj_get(o, "metadata.labels");
}

bool sched_term_matches(struct scheduler *s, const struct sterm *t, const struct spod *p,
                        const cJSON *ns_labels)
{
	bool in = false;
	for (size_t i = 0; i < t->nns && !in; i++)
		in = !strcmp(t->nss[i], p->ns);
	if (!in && t->nssel)
		in = sel_matches(t->nssel, ns_labels ? ns_labels : sched_ns_labels(s, p->ns));
	return in && sel_matches(t->sel, p->labels);
}

const struct slabel *sched_node_label(const struct snode *n, const char *key, uint32_t kh)
{
	for (size_t i = 0; i < n->nlab; i++)
		if (n->lab[i].kh == kh && !strcmp(n->lab[i].k, key))
			return &n->lab[i];
	return NULL;
}

static void hash_labels(struct snode *n)
{
	const cJSON *l;
	free(n->lab);
	n->lab = NULL;
	n->nlab = 0;
	size_t cap = (size_t)cJSON_GetArraySize(n->labels);
	if (!cap)
		return;
	n->lab = xcalloc(cap, sizeof(*n->lab));
	cJSON_ArrayForEach(l, n->labels)
	{
		if (!cJSON_IsString(l))
			continue;
		struct slabel *x = &n->lab[n->nlab++];
		x->k = l->string;
		x->v = l->valuestring;
		x->kh = sched_hash(x->k);
		x->vh = sched_hash(x->v);
	}
}

const char *sched_label(const cJSON *labels, const char *key)
{
	const cJSON *v = obj_child(labels, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* --- pods ---------------------------------------------------------------------------- */

void sched_pod_clear_summary(struct scheduler *s, struct spod *p)
{
	sres_free(&p->req);
	free(p->ports);
	p->ports = NULL;
	p->nports = 0;
	aff_free(p->aff);
	p->aff = NULL;
	cJSON_Delete(p->labels);
	p->labels = NULL;
	free(p->owner);
	p->owner = NULL;
	p->summarized = false;
}

void sched_pod_summarize(struct scheduler *s, struct spod *p, const cJSON *pod)
{
	sched_pod_clear_summary(s, p);
	const cJSON *spec = obj_child(pod, "spec");
	struct nz nz;
	pod_requests(s, spec, &p->req, &nz);
	p->nz_cpu = nz.cpu;
	p->nz_mem = nz.mem;
	pod_ports(spec, p);
	const cJSON *labels = obj_get(pod, "metadata.labels");
	p->labels = cJSON_IsObject(labels) ? cJSON_Duplicate(labels, true) : NULL;
	const char *owner = controller_owner(pod);
	p->owner = owner ? xstrdup(owner) : NULL;
	p->terminating = obj_get(pod, "metadata.deletionTimestamp") != NULL &&
	                 !cJSON_IsNull(obj_get(pod, "metadata.deletionTimestamp"));
	p->aff = aff_compile(s, pod, p->ns, p->labels);
	int64_t prio = 0;
	obj_get_i64(pod, "spec.priority", &prio);
	p->priority = (int32_t)prio;
	p->summarized = true;
}

struct spod *sched_pod_new(struct scheduler *s, const char *key, const cJSON *pod)
{
	struct spod *p = xcalloc(1, sizeof(*p));
	const char *ns = obj_get_str(pod, "metadata.namespace");
	const char *name = obj_get_str(pod, "metadata.name");
	const char *uid = obj_get_str(pod, "metadata.uid");
	p->key = xstrdup(key);
	p->ns = xstrdup(ns ? ns : "");
	p->name = xstrdup(name ? name : "");
	p->uid = xstrdup(uid ? uid : "");
	int64_t prio = 0;
	obj_get_i64(pod, "spec.priority", &prio);
	p->priority = (int32_t)prio;
	p->first_seen_ms = loop_now_ms(s->loop);
	strmap_put(&s->pods, key, p);
	return p;
}

void sched_pod_free(struct scheduler *s, struct spod *p)
{
	if (p->node)
		sched_node_remove_pod(s, p);
	sched_queue_remove(s, p);
	if (strmap_get(&s->pods, p->key) == p)
		strmap_del(&s->pods, p->key);
	sched_pod_clear_summary(s, p);
	free(p->slots);
	free(p->key);
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p);
}

/* --- nodes -------------------------------------------------------------------------- */

struct snode *sched_node_get(struct scheduler *s, const char *name, bool create)
{
	struct snode *n = strmap_get(&s->nodes_by_name, name);
	if (n || !create)
		return n;
	n = xcalloc(1, sizeof(*n));
	n->name = xstrdup(name);
	strmap_put(&s->nodes_by_name, name, n);
	return n;
}

static void free_taints(struct snode *n)
{
	for (size_t i = 0; i < n->ntaints; i++) {
		free(n->taints[i].key);
		free(n->taints[i].value);
		free(n->taints[i].effect);
	}
	free(n->taints);
	n->taints = NULL;
	n->ntaints = 0;
}

void sched_node_free(struct snode *n)
{
	free(n->lab);
	cJSON_Delete(n->labels);
	free_taints(n);
	sres_free(&n->alloc);
	sres_free(&n->req);
	free(n->pods);
	free(n->ports);
	free(n->name);
	free(n);
}

int sched_effect(const char *effect)
{
	if (!effect || !*effect)
		return EFF_ANY;
	if (!strcmp(effect, "NoSchedule"))
		return EFF_NO_SCHEDULE;
	if (!strcmp(effect, "PreferNoSchedule"))
		return EFF_PREFER_NO_SCHEDULE;
	if (!strcmp(effect, "NoExecute"))
		return EFF_NO_EXECUTE;
	return EFF_OTHER;
}

static void add_taint(struct snode *n, const char *key, const char *value, const char *effect)
{
	n->taints = xrealloc(n->taints, (n->ntaints + 1) * sizeof(*n->taints));
	struct staint *t = &n->taints[n->ntaints++];
	t->key = xstrdup(key ? key : "");
	t->value = xstrdup(value ? value : "");
	t->effect = xstrdup(effect ? effect : "");
	t->eff = sched_effect(t->effect);
}

static bool same_taints(const struct staint *a, size_t na, const struct staint *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].key, b[i].key) || strcmp(a[i].value, b[i].value) ||
		    strcmp(a[i].effect, b[i].effect))
			return false;
	return true;
}

static bool same_res(const struct sres *a, const struct sres *b)
{
	if (a->cpu != b->cpu || a->mem != b->mem || a->eph != b->eph || a->next != b->next)
		return false;
	for (uint32_t i = 0; i < a->next; i++)
		if (sres_ext_get(b, a->ext[i].id) != a->ext[i].v)
			return false;
	return true;
}

unsigned sched_node_update(struct scheduler *s, struct snode *n, const cJSON *node)
{
	unsigned changed = 0;
	bool was = n->present;
	cJSON *old_labels = n->labels;
	struct staint *old_taints = n->taints;
	size_t old_nt = n->ntaints;
	bool old_unsched = n->unschedulable;
	struct sres old_alloc = n->alloc;
	int64_t old_pods = n->alloc_pods;

	const cJSON *labels = obj_get(node, "metadata.labels");
	n->labels = cJSON_IsObject(labels) ? cJSON_Duplicate(labels, true) : NULL;
	hash_labels(n);
	n->taints = NULL;
	n->ntaints = 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, jarr(obj_get(node, "spec.taints")))
	{
		if (cJSON_IsObject(t))
			add_taint(n, obj_get_str(t, "key"), obj_get_str(t, "value"),
			          obj_get_str(t, "effect"));
	}
	/* The node lifecycle controller taints nodes that are not Ready; a node seen before it
	 * has done so is treated the same way. */
	const char *ready = NULL, *rtaint;
	const cJSON *c;
	cJSON_ArrayForEach(c, jarr(obj_get(node, "status.conditions")))
	{
		const char *type = obj_get_str(c, "type");
		if (type && !strcmp(type, "Ready"))
			ready = obj_get_str(c, "status");
	}
	if (!ready || strcmp(ready, "True")) {
		rtaint = ready && !strcmp(ready, "Unknown") ? TAINT_UNREACHABLE : TAINT_NOT_READY;
		bool have = false;
		for (size_t i = 0; i < n->ntaints; i++)
			have |= !strcmp(n->taints[i].key, rtaint) &&
			        !strcmp(n->taints[i].effect, "NoSchedule");
		if (!have)
			add_taint(n, rtaint, "", "NoSchedule");
	}
	bool unsched = false;
	obj_get_bool(node, "spec.unschedulable", &unsched);
	n->unschedulable = unsched;
	memset(&n->alloc, 0, sizeof(n->alloc));
	const cJSON *alloc = obj_get(node, "status.allocatable");
	parse_rl(s, alloc, &n->alloc, NULL, NULL);
	n->alloc_pods = cJSON_IsObject(alloc) && obj_child(alloc, "pods")
	                    ? qty_of(obj_child(alloc, "pods"), false)
	                    : 0;

	if (!was) {
		n->present = true;
		if (s->nnodes == s->cap_nodes) {
			s->cap_nodes = s->cap_nodes ? s->cap_nodes * 2 : 16;
			s->nodes = xrealloc(s->nodes, s->cap_nodes * sizeof(*s->nodes));
		}
		n->idx = s->nnodes;
		s->nodes[s->nnodes++] = n;
		changed = F_ALL;
	} else {
		if (!obj_equal(old_labels, n->labels))
			changed |= F_NODE_AFFINITY | F_POD_AFFINITY | F_SPREAD;
		if (!same_taints(old_taints, old_nt, n->taints, n->ntaints))
			changed |= F_TAINT | F_SPREAD;
		if (old_unsched != n->unschedulable)
			changed |= F_UNSCHEDULABLE;
		if (!same_res(&old_alloc, &n->alloc) || old_pods != n->alloc_pods)
			changed |= F_FIT;
	}
	cJSON_Delete(old_labels);
	for (size_t i = 0; i < old_nt; i++) {
		free(old_taints[i].key);
		free(old_taints[i].value);
		free(old_taints[i].effect);
	}
	free(old_taints);
	sres_free(&old_alloc);
	return changed;
}

void sched_node_gone(struct scheduler *s, struct snode *n)
{
	if (n->present) {
		s->nodes[n->idx] = s->nodes[--s->nnodes];
		s->nodes[n->idx]->idx = n->idx;
		n->present = false;
		if (s->next_start >= s->nnodes)
			s->next_start = 0;
	}
	cJSON_Delete(n->labels);
	n->labels = NULL;
	hash_labels(n);
	free_taints(n);
	sres_free(&n->alloc);
	n->alloc_pods = 0;
	if (!n->npods) {
		strmap_del(&s->nodes_by_name, n->name);
		sched_node_free(n);
	}
}

void sched_node_add_pod(struct scheduler *s, struct snode *n, struct spod *p)
{
	if (n->npods == n->cap_pods) {
		n->cap_pods = n->cap_pods ? n->cap_pods * 2 : 8;
		n->pods = xrealloc(n->pods, n->cap_pods * sizeof(*n->pods));
	}
	p->node = n;
	p->node_pos = n->npods;
	n->pods[n->npods++] = p;
	sres_add(&n->req, &p->req, 1);
	n->nz_cpu += p->nz_cpu;
	n->nz_mem += p->nz_mem;
	for (size_t i = 0; i < p->nports; i++) {
		if (n->nports == n->cap_ports) {
			n->cap_ports = n->cap_ports ? n->cap_ports * 2 : 4;
			n->ports = xrealloc(n->ports, n->cap_ports * sizeof(*n->ports));
		}
		n->ports[n->nports++] = p->ports[i];
	}
	sched_index_add(s, p);
	if (p->aff) {
		n->naff++;
		s->naff_pods++;
		if (p->aff->nranti) {
			n->nanti++;
			s->nanti_pods++;
		}
	}
}

void sched_node_remove_pod(struct scheduler *s, struct spod *p)
{
	struct snode *n = p->node;
	if (!n)
		return;
	n->pods[p->node_pos] = n->pods[--n->npods];
	n->pods[p->node_pos]->node_pos = p->node_pos;
	sres_add(&n->req, &p->req, -1);
	n->nz_cpu -= p->nz_cpu;
	n->nz_mem -= p->nz_mem;
	for (size_t i = 0; i < n->nports;)
		if (n->ports[i].owner == p)
			n->ports[i] = n->ports[--n->nports];
		else
			i++;
	sched_index_remove(s, p);
	if (p->aff) {
		n->naff--;
		s->naff_pods--;
		if (p->aff->nranti) {
			n->nanti--;
			s->nanti_pods--;
		}
	}
	p->node = NULL;
	p->assumed = false;
	if (!n->present && !n->npods) {
		strmap_del(&s->nodes_by_name, n->name);
		sched_node_free(n);
	}
}
