/* scheduler: informers feed the cache, the queue feeds scheduling cycles, cycles write
 * bindings; and what an unschedulable pod is told. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_TAG "scheduler"
#include "core/log/log.h"
#include "core/scheduler/scheduler-internal.h"

#define COMPONENT "default-scheduler"
/* One turn of the loop schedules for at most this long before letting I/O run. */
#define SLICE_US 5000

static const char *meta_str(const cJSON *o, const char *field)
{
	const cJSON *v = obj_child(obj_child(o, "metadata"), field);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool is_ours(const struct scheduler *s, const cJSON *pod)
{
	const char *sn = obj_get_str(pod, "spec.schedulerName");
	if (!sn || !*sn)
		return !strcmp(s->name, COMPONENT);
	return !strcmp(sn, s->name);
}

static bool is_terminal(const cJSON *pod)
{
	const char *ph = obj_get_str(pod, "status.phase");
	return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

static bool is_deleting(const cJSON *pod)
{
	const cJSON *d = obj_get(pod, "metadata.deletionTimestamp");
	return d && !cJSON_IsNull(d);
}

void sched_kick(struct scheduler *s)
{
	if (s->stopped || !s->pods_synced || !s->nodes_synced || !s->active.n)
		return;
	if (!loop_timer_armed(&s->run_timer))
		loop_timer_arm(s->loop, &s->run_timer, 0);
}

/* --- informer handlers --------------------------------------------------------------- */

static void pod_changed(struct scheduler *s, const cJSON *old, const cJSON *obj)
{
	char key[512];
	client_key_of(obj, key, sizeof(key));
	const char *uid = meta_str(obj, "uid");
	struct spod *p = strmap_get(&s->pods, key);
	if (p && strcmp(p->uid, uid ? uid : "")) {
		/* The same name, a new pod. */
		if (p->node)
			sched_queue_moved(s, F_FIT | F_PORTS | F_POD_AFFINITY | F_SPREAD);
		sched_pod_free(s, p);
		p = NULL;
	}
	const char *node = obj_get_str(obj, "spec.nodeName");
	if (node && *node) {
		if (is_terminal(obj)) {
			/* Finished pods hold nothing on their node any more. */
			if (p) {
				sched_pod_free(s, p);
				sched_queue_moved(s, F_FIT | F_PORTS | F_POD_AFFINITY | F_SPREAD);
			}
			return;
		}
		if (!p)
			p = sched_pod_new(s, key, obj);
		if (p->qstate != Q_INFLIGHT)
			sched_queue_remove(s, p);
		p->qstate = Q_NONE;
		if (p->node && !strcmp(p->node->name, node)) {
			/* Our binding, confirmed; or a pod we know, changed. */
			p->assumed = false;
			const cJSON *labels = obj_get(obj, "metadata.labels");
			if (obj_equal(p->labels, jobj(labels)) &&
			    p->terminating == is_deleting(obj))
				return;
			sched_node_remove_pod(s, p);
		} else if (p->node) {
			sched_node_remove_pod(s, p);
		}
		sched_pod_summarize(s, p, obj);
		sched_node_add_pod(s, sched_node_get(s, node, true), p);
		sched_queue_moved(s, F_POD_AFFINITY | F_SPREAD);
		return;
	}
	/* Gated pods wait outside the queue until their gates are gone (an update). */
	bool gated = cJSON_GetArraySize(jarr(obj_get(obj, "spec.schedulingGates"))) > 0;
	if (is_terminal(obj) || !is_ours(s, obj) || is_deleting(obj) || gated) {
		if (p && !p->assumed)
			sched_pod_free(s, p);
		return;
	}
	if (!p) {
		p = sched_pod_new(s, key, obj);
		sched_queue_add(s, p);
		return;
	}
	if (p->assumed || p->qstate == Q_INFLIGHT)
		return; /* our binding is on its way */
	/* Only what scheduling reads counts as a change: our own status writes do not. */
	if (!old || !obj_equal(obj_child(old, "spec"), obj_child(obj, "spec")) ||
	    !obj_equal(obj_get(old, "metadata.labels"), obj_get(obj, "metadata.labels")) ||
	    p->qstate == Q_NONE)
		sched_queue_add(s, p);
}

static void on_pod_add(void *arg, const cJSON *obj)
{
	pod_changed(arg, NULL, obj);
}

static void on_pod_update(void *arg, const cJSON *old, const cJSON *obj)
{
	pod_changed(arg, old, obj);
}

static void on_pod_del(void *arg, const cJSON *obj)
{
	struct scheduler *s = arg;
	char key[512];
	client_key_of(obj, key, sizeof(key));
	struct spod *p = strmap_get(&s->pods, key);
	const char *uid = meta_str(obj, "uid");
	if (!p || strcmp(p->uid, uid ? uid : ""))
		return;
	bool held = p->node != NULL;
	sched_pod_free(s, p);
	if (held)
		sched_queue_moved(s, F_FIT | F_PORTS | F_POD_AFFINITY | F_SPREAD);
}

static void on_node_change(void *arg, const cJSON *obj)
{
	struct scheduler *s = arg;
	const char *name = meta_str(obj, "name");
	if (!name || !*name)
		return;
	unsigned changed = sched_node_update(s, sched_node_get(s, name, true), obj);
	if (changed)
		sched_queue_moved(s, changed);
}

static void on_node_add(void *arg, const cJSON *obj)
{
	on_node_change(arg, obj);
}

static void on_node_update(void *arg, const cJSON *old, const cJSON *obj)
{
	on_node_change(arg, obj);
}

static void on_node_del(void *arg, const cJSON *obj)
{
	struct scheduler *s = arg;
	const char *name = meta_str(obj, "name");
	struct snode *n = name ? sched_node_get(s, name, false) : NULL;
	if (n)
		sched_node_gone(s, n);
}

static void on_ns_update(void *arg, const cJSON *old, const cJSON *obj)
{
	struct scheduler *s = arg;
	if (!obj_equal(obj_get(old, "metadata.labels"), obj_get(obj, "metadata.labels")))
		sched_queue_moved(s, F_POD_AFFINITY);
}

static void on_pods_synced(void *arg)
{
	struct scheduler *s = arg;
	s->pods_synced = true;
	sched_kick(s);
}

static void on_nodes_synced(void *arg)
{
	struct scheduler *s = arg;
	s->nodes_synced = true;
	sched_kick(s);
}

/* --- messages ------------------------------------------------------------------------ */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Upstream's FitError text: how many nodes gave each reason, "<count> <reason>" sorted as
 * strings, then what preemption would have said. tug does not preempt, which is what
 * upstream reports for nodes where it would not help.
 */
static char *diagnose(struct sctx *c, unsigned *fails)
{
	struct scheduler *s = c->s;
	struct strmap hist = { 0 };
	struct reasons r;
	*fails = 0;
	for (size_t i = 0; i < s->nnodes; i++) {
		memset(&r, 0, sizeof(r));
		*fails |= sched_filter(c, s->nodes[i], &r);
		for (size_t off = 0, k = 0; k < r.n; k++) {
			const char *why = r.buf + off;
			uintptr_t n = (uintptr_t)strmap_get(&hist, why);
			strmap_put(&hist, why, (void *)(n + 1));
			off += strlen(why) + 1;
		}
	}
	char **lines = xcalloc(hist.len + 1, sizeof(char *));
	size_t n = 0;
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&hist, &i, &k, &v);)
		lines[n++] = xasprintf("%zu %s", (size_t)(uintptr_t)v, k);
	qsort(lines, n, sizeof(char *), cmp_strp);
	struct buf b = { 0 };
	buf_printf(&b, "0/%zu nodes are available:", s->nnodes);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? ", " : " ", lines[i]);
		free(lines[i]);
	}
	free(lines);
	strmap_free(&hist);
	if (c->preempt_never)
		buf_adds(&b, ". preemption: not eligible due to preemptionPolicy=Never.");
	else
		buf_printf(&b,
		           ". preemption: 0/%zu nodes are available: %zu Preemption is not helpful "
		           "for scheduling.",
		           s->nnodes, s->nnodes);
	return buf_steal(&b);
}

/* PodScheduled=False with the reason and message, unless the pod says so already. */
static void set_unschedulable(struct scheduler *s, const cJSON *pod, const char *msg)
{
	const cJSON *conds = obj_get(pod, "status.conditions"), *it;
	const cJSON *old = NULL;
	cJSON_ArrayForEach(it, jarr(conds))
	{
		const char *t = obj_get_str(it, "type");
		if (t && !strcmp(t, "PodScheduled"))
			old = it;
	}
	const char *os = obj_get_str(old, "status"), *orsn = obj_get_str(old, "reason");
	const char *omsg = obj_get_str(old, "message");
	if (os && !strcmp(os, "False") && orsn && !strcmp(orsn, "Unschedulable") && omsg &&
	    !strcmp(omsg, msg))
		return;
	char now[32];
	obj_time_format((int64_t)time(NULL), now);
	cJSON *patch = cJSON_CreateObject();
	cJSON *list =
	    cJSON_AddArrayToObject(cJSON_AddObjectToObject(patch, "status"), "conditions");
	cJSON_ArrayForEach(it, jarr(conds))
	{
		if (it != old)
			cJSON_AddItemToArray(list, cJSON_Duplicate(it, true));
	}
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "type", "PodScheduled");
	cJSON_AddStringToObject(c, "status", "False");
	cJSON_AddNullToObject(c, "lastProbeTime");
	const char *olt = obj_get_str(old, "lastTransitionTime");
	cJSON_AddStringToObject(c, "lastTransitionTime",
	                        os && !strcmp(os, "False") && olt ? olt : now);
	cJSON_AddStringToObject(c, "reason", "Unschedulable");
	cJSON_AddStringToObject(c, "message", msg);
	cJSON_AddItemToArray(list, c);
	client_merge_patch(s->c, client_kind("", "pods"), meta_str(pod, "namespace"),
	                   meta_str(pod, "name"), "status", patch, NULL, NULL);
}

static void failed(struct scheduler *s, struct spod *p, const cJSON *pod, const char *msg,
                   unsigned fails)
{
	s->st.unschedulable++;
	log_debug("%s: %s", p->key, msg);
	set_unschedulable(s, pod, msg);
	if (!s->o.no_events)
		client_event(s->c, COMPONENT, pod, "Warning", "FailedScheduling", "%s", msg);
	sched_queue_failed(s, p, fails, true);
}

/* --- binding ---------------------------------------------------------------------------- */

struct bindreq {
	struct scheduler *s;
	char *key, *uid, *ns, *name, *node;
};

static void scheduler_free(struct scheduler *s);

static void on_bound(void *arg, int code, const char *message, cJSON *obj)
{
	struct bindreq *b = arg;
	struct scheduler *s = b->s;
	s->inflight--;
	if (!s->stopped) {
		struct spod *p = strmap_get(&s->pods, b->key);
		bool mine = p && !strcmp(p->uid, b->uid);
		if (code >= 200 && code < 300) {
			s->st.bound++;
			if (!s->o.no_events && obj)
				client_event(s->c, COMPONENT, obj, "Normal", "Scheduled",
				             "Successfully assigned %s/%s to %s", b->ns, b->name,
				             b->node);
			if (mine && p->qstate == Q_INFLIGHT)
				p->qstate =
				    Q_NONE; /* stays assumed until the watch shows it bound */
		} else {
			s->st.errors++;
			log_warn("bind %s to %s: %s", b->key, b->node,
			         message ? message : "failed");
			if (mine && p->assumed && p->node && !strcmp(p->node->name, b->node)) {
				sched_node_remove_pod(s, p);
				sched_queue_moved(s, F_FIT | F_PORTS | F_POD_AFFINITY | F_SPREAD);
			}
			if (mine && p->qstate == Q_INFLIGHT) {
				p->qstate = Q_NONE;
				/* Gone, or bound by someone else: the watch will tell. */
				if (code != 404 && code != 409)
					sched_queue_failed(s, p, F_ALL, false);
			}
		}
	}
	free(b->key);
	free(b->uid);
	free(b->ns);
	free(b->name);
	free(b->node);
	free(b);
	if (s->stopped && !s->inflight)
		scheduler_free(s);
}

static void bind(struct scheduler *s, struct spod *p, struct snode *n)
{
	sched_node_add_pod(s, n, p);
	p->assumed = true;
	p->qstate = Q_INFLIGHT;
	struct bindreq *b = xcalloc(1, sizeof(*b));
	b->s = s;
	b->key = xstrdup(p->key);
	b->uid = xstrdup(p->uid);
	b->ns = xstrdup(p->ns);
	b->name = xstrdup(p->name);
	b->node = xstrdup(n->name);
	s->inflight++;
	client_bind(s->c, p->ns, p->name, n->name, on_bound, b);
}

/* --- one scheduling cycle ------------------------------------------------------------- */

/* How many feasible nodes to find before scoring, as upstream's numFeasibleNodesToFind. */
static size_t nodes_to_find(const struct scheduler *s, size_t all)
{
	int pct = s->o.percentage_of_nodes_to_score;
	if (all < 100 || pct >= 100)
		return all;
	if (pct <= 0)
		pct = MAX(50 - (int)(all / 125), 5);
	size_t n = all * (size_t)pct / 100;
	return MAX(n, (size_t)100);
}

static void scratch_reserve(struct scheduler *s, size_t n)
{
	if (n <= s->cap_feasible)
		return;
	s->cap_feasible = n;
	s->feasible = xrealloc(s->feasible, n * sizeof(*s->feasible));
	s->scratch = xrealloc(s->scratch, n * sizeof(*s->scratch));
	s->total = xrealloc(s->total, n * sizeof(*s->total));
}

/* The best of the feasible nodes; among equals, each is as likely (reservoir sampling). */
static struct snode *pick(struct scheduler *s, size_t n)
{
	size_t best = 0, ties = 1;
	for (size_t i = 1; i < n; i++) {
		if (s->total[i] > s->total[best]) {
			best = i;
			ties = 1;
		} else if (s->total[i] == s->total[best] && sched_rand(s) % ++ties == 0) {
			best = i;
		}
	}
	return s->feasible[best];
}

/* CPU time of this thread: what a decision costs, whatever else the machine runs. */
static uint64_t cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void schedule_one(struct scheduler *s, struct spod *p)
{
	const cJSON *pod = informer_get(s->pods_inf, p->ns, p->name);
	const char *uid = meta_str(pod, "uid");
	const char *nn = obj_get_str(pod, "spec.nodeName");
	if (!pod || !uid || strcmp(uid, p->uid) || (nn && *nn))
		return; /* the informer's news about it will follow */
	uint64_t t0 = cpu_us();
	s->st.attempts++;
	sched_pod_summarize(s, p, pod);
	struct sctx c;
	sched_ctx_init(s, &c, p, pod);
	if (!s->nnodes) {
		s->st.cycle_us_total += cpu_us() - t0;
		failed(s, p, pod, "no nodes available to schedule pods", F_ALL);
		goto out;
	}
	sched_prefilter(&c);
	scratch_reserve(s, s->nnodes);
	size_t want = nodes_to_find(s, s->nnodes), found = 0, seen = 0;
	for (; seen < s->nnodes && found < want; seen++) {
		struct snode *n = s->nodes[(s->next_start + seen) % s->nnodes];
		if (!sched_filter(&c, n, NULL))
			s->feasible[found++] = n;
	}
	s->next_start = (s->next_start + seen) % s->nnodes;
	if (!found) {
		unsigned fails;
		char *msg = diagnose(&c, &fails);
		s->st.cycle_us_total += cpu_us() - t0;
		failed(s, p, pod, msg, fails);
		free(msg);
		goto out;
	}
	struct snode *best = s->feasible[0];
	if (found > 1) {
		sched_score(&c, s->feasible, found, s->total, NULL);
		best = pick(s, found);
	}
	log_debug("%s: %s (%zu of %zu nodes fit)", p->key, best->name, found, seen);
	s->st.cycle_us_total += cpu_us() - t0;
	bind(s, p, best);
out:
	sched_ctx_free(&c);
}

static void on_run(struct loop *l, struct loop_timer *t)
{
	struct scheduler *s = container_of(t, struct scheduler, run_timer);
	uint64_t start = time_mono_us();
	struct spod *p;
	while (!s->stopped && (p = sched_queue_pop(s))) {
		schedule_one(s, p);
		if (time_mono_us() - start > SLICE_US) {
			sched_kick(s);
			return;
		}
	}
}

/* --- start and stop --------------------------------------------------------------------- */

int scheduler_start(struct client *c, const struct scheduler_opts *o, struct scheduler **out)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->loop = client_loop(c);
	if (o)
		s->o = *o;
	s->name = xstrdup(s->o.name && *s->o.name ? s->o.name : COMPONENT);
	s->o.name = s->name;
	if (!s->o.initial_backoff_ms)
		s->o.initial_backoff_ms = 1000;
	if (!s->o.max_backoff_ms)
		s->o.max_backoff_ms = 10000;
	if (!s->o.max_unschedulable_ms)
		s->o.max_unschedulable_ms = 300000;
	s->rng = s->o.seed;
	while (!s->rng)
		obj_random(&s->rng, sizeof(s->rng));
	loop_timer_init(&s->run_timer, on_run);
	sched_queue_init(s);

	s->ns_inf = informer_new(c, client_kind("", "namespaces"), NULL, NULL);
	struct informer_handlers nh = { .update = on_ns_update, .arg = s };
	informer_add_handlers(s->ns_inf, &nh);
	s->nodes_inf = informer_new(c, client_kind("", "nodes"), NULL, NULL);
	struct informer_handlers noh = { on_node_add, on_node_update, on_node_del, on_nodes_synced,
		                         s };
	informer_add_handlers(s->nodes_inf, &noh);
	s->pods_inf = informer_new(c, client_kind("", "pods"), NULL, NULL);
	struct informer_handlers ph = { on_pod_add, on_pod_update, on_pod_del, on_pods_synced, s };
	informer_add_handlers(s->pods_inf, &ph);
	informer_start(s->ns_inf);
	informer_start(s->nodes_inf);
	informer_start(s->pods_inf);
	log_info("scheduler %s started", s->name);
	*out = s;
	return 0;
}

static void scheduler_free(struct scheduler *s)
{
	free(s->feasible);
	free(s->scratch);
	free(s->total);
	free(s->name);
	free(s);
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	s->stopped = true;
	loop_timer_disarm(s->loop, &s->run_timer);
	informer_free(s->pods_inf);
	informer_free(s->nodes_inf);
	informer_free(s->ns_inf);
	s->pods_inf = s->nodes_inf = s->ns_inf = NULL;
	const char *k;
	void *v;
	for (size_t i = 0; strmap_next(&s->pods, &i, &k, &v);) {
		struct spod *p = v;
		sched_pod_clear_summary(s, p);
		free(p->slots);
		free(p->key);
		free(p->ns);
		free(p->name);
		free(p->uid);
		free(p);
	}
	strmap_free(&s->pods);
	for (size_t i = 0; strmap_next(&s->nodes_by_name, &i, &k, &v);)
		sched_node_free(v);
	strmap_free(&s->nodes_by_name);
	sched_index_free(s);
	free(s->nodes);
	s->nodes = NULL;
	s->nnodes = 0;
	for (uint32_t i = 0; i < s->nres; i++)
		free(s->res_names[i]);
	free(s->res_names);
	strmap_free(&s->res_ids);
	sched_queue_free(s);
	s->uhead = NULL;
	if (!s->inflight)
		scheduler_free(s);
}

void scheduler_get_stats(const struct scheduler *s, struct scheduler_stats *out)
{
	*out = s->st;
	out->pending = sched_queue_len(s);
	out->nodes = s->nnodes;
	out->pods = s->pods.len;
	out->synced = s->pods_synced && s->nodes_synced;
}

/* --- evaluation ------------------------------------------------------------------------ */

static int cmp_eval(const void *a, const void *b)
{
	return strcmp(((const struct scheduler_node_eval *)a)->node,
	              ((const struct scheduler_node_eval *)b)->node);
}

int scheduler_evaluate(struct scheduler *s, const cJSON *pod, struct scheduler_eval *out)
{
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(pod))
		return -EINVAL;
	struct spod p = { 0 };
	char key[512];
	client_key_of(pod, key, sizeof(key));
	const char *ns = meta_str(pod, "namespace"), *name = meta_str(pod, "name");
	const char *uid = meta_str(pod, "uid");
	p.key = key;
	p.ns = (char *)(ns ? ns : "default");
	p.name = (char *)(name ? name : "");
	p.uid = (char *)(uid ? uid : "");
	sched_pod_summarize(s, &p, pod);
	struct sctx c;
	sched_ctx_init(s, &c, &p, pod);
	sched_prefilter(&c);
	scratch_reserve(s, s->nnodes ? s->nnodes : 1);
	out->n = s->nnodes;
	out->nodes = xcalloc(s->nnodes ? s->nnodes : 1, sizeof(*out->nodes));
	size_t nf = 0;
	int64_t *per[SCHEDULER_NSCORES];
	size_t *where = xcalloc(s->nnodes ? s->nnodes : 1, sizeof(size_t));
	for (size_t i = 0; i < s->nnodes; i++) {
		struct snode *n = s->nodes[i];
		struct reasons r = { 0 };
		struct scheduler_node_eval *e = &out->nodes[i];
		e->node = xstrdup(n->name);
		for (int k = 0; k < SCHEDULER_NSCORES; k++)
			e->score[k] = -1;
		if (sched_filter(&c, n, &r) == 0) {
			e->feasible = true;
			where[nf] = i;
			s->feasible[nf++] = n;
			continue;
		}
		struct buf b = { 0 };
		for (size_t off = 0, k = 0; k < r.n; k++) {
			buf_printf(&b, "%s%s", k ? "; " : "", r.buf + off);
			off += strlen(r.buf + off) + 1;
		}
		e->reasons = buf_steal(&b);
	}
	if (nf) {
		for (int k = 0; k < SCHEDULER_NSCORES; k++)
			per[k] = xcalloc(nf, sizeof(int64_t));
		sched_score(&c, s->feasible, nf, s->total, per);
		for (size_t j = 0; j < nf; j++) {
			struct scheduler_node_eval *e = &out->nodes[where[j]];
			e->total = s->total[j];
			for (int k = 0; k < SCHEDULER_NSCORES; k++)
				e->score[k] = per[k][j];
		}
		for (int k = 0; k < SCHEDULER_NSCORES; k++)
			free(per[k]);
	} else if (s->nnodes) {
		unsigned fails;
		out->message = diagnose(&c, &fails);
	} else {
		out->message = xstrdup("no nodes available to schedule pods");
	}
	free(where);
	qsort(out->nodes, out->n, sizeof(*out->nodes), cmp_eval);
	sched_ctx_free(&c);
	sched_pod_clear_summary(s, &p);
	return 0;
}

void scheduler_eval_free(struct scheduler_eval *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->nodes[i].node);
		free(ev->nodes[i].reasons);
	}
	free(ev->nodes);
	free(ev->message);
	memset(ev, 0, sizeof(*ev));
}
