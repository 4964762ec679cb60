/* scheduler internals: the node and pod summaries, a pod's compiled constraints, the queue. */
#ifndef TUG_SCHEDULER_INTERNAL_H
#define TUG_SCHEDULER_INTERNAL_H

#include "core/client/client.h"
#include "core/loop/loop.h"
#include "core/obj/obj.h"
#include "core/scheduler/scheduler.h"

/* x when it is an array (object), else NULL: cJSON_ArrayForEach over what users wrote. */
static inline const cJSON *jarr(const cJSON *x)
{
	return cJSON_IsArray(x) ? x : NULL;
}
static inline const cJSON *jobj(const cJSON *x)
{
	return cJSON_IsObject(x) ? x : NULL;
}

#define SCHED_MAX_SCORE 100
/* What a container that requests nothing counts as when scoring (upstream's constants). */
#define SCHED_DEFAULT_MILLI_CPU 100
#define SCHED_DEFAULT_MEMORY (200LL * 1024 * 1024)

#define LABEL_HOSTNAME "kubernetes.io/hostname"
#define LABEL_ZONE "topology.kubernetes.io/zone"
#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"

/* The filters, as bits: what rejected a pod decides which cluster changes retry it. */
enum {
	F_UNSCHEDULABLE = 1u << 0, /* NodeUnschedulable */
	F_NODE_NAME = 1u << 1,     /* NodeName */
	F_TAINT = 1u << 2,         /* TaintToleration */
	F_NODE_AFFINITY = 1u << 3, /* NodeAffinity */
	F_PORTS = 1u << 4,         /* NodePorts */
	F_FIT = 1u << 5,           /* NodeResourcesFit */
	F_SPREAD = 1u << 6,        /* PodTopologySpread */
	F_POD_AFFINITY = 1u << 7,  /* InterPodAffinity */
	F_ALL = 0xffu,
};

/* --- a map from topology values to counts or scores ------------------------------ */

struct tpmap {
	struct tpmap_slot {
		char *key; /* NULL: empty */
		int64_t v;
	} * slots;
	size_t cap, len;
};
/* The cell for key, created (0) when absent. */
int64_t *tpmap_at(struct tpmap *m, const char *key);
/* The cell for key or NULL. */
int64_t *tpmap_find(const struct tpmap *m, const char *key);
void tpmap_free(struct tpmap *m);
/* "key\x1fvalue" into buf (cut to fit). */
const char *tp_pair(char *buf, size_t n, const char *key, const char *value);

/* --- resources -------------------------------------------------------------------- */

struct sres_ext {
	uint32_t id; /* into scheduler.res_names */
	int64_t v;
};

/* cpu in millicores, memory and ephemeral storage in bytes, others (extended resources,
 * hugepages) in whole units by interned name. */
struct sres {
	int64_t cpu, mem, eph;
	struct sres_ext *ext;
	uint32_t next;
};

/* --- the cache ---------------------------------------------------------------------- */

/* Taint effects as numbers, so the filters compare integers. */
enum { EFF_ANY, EFF_NO_SCHEDULE, EFF_PREFER_NO_SCHEDULE, EFF_NO_EXECUTE, EFF_OTHER };
int sched_effect(const char *effect);

struct staint {
	char *key, *value, *effect;
	int eff; /* EFF_* */
};

/* A node label with its hashes: node affinity compares integers before strings. */
struct slabel {
	uint32_t kh, vh;
	const char *k, *v; /* in snode.labels */
};

static inline uint32_t sched_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct sport {
	char ip[48];
	char proto[8];
	int32_t port;
	struct spod *owner;
};

/* A pod affinity term, compiled. namespaces has the pod's own namespace when the term names
 * neither namespaces nor a namespaceSelector, as upstream. */
struct sterm {
	struct sel *sel; /* labelSelector (matchLabelKeys merged in) */
	char **nss;      /* namespaces */
	size_t nns;
	struct sel *nssel; /* namespaceSelector, NULL when unset */
	char *key;         /* topologyKey */
	uint32_t kh;
	int32_t weight;
};

struct saff {
	struct sterm *raff, *ranti, *paff, *panti; /* required and preferred */
	size_t nraff, nranti, npaff, npanti;
};

struct snode;

/* Where a pod sits in the index's lists, so that it leaves them in constant time. */
struct islot {
	void *list; /* struct ilist or struct tlist */
	bool term;
	size_t pos;
};

struct spod {
	char *key; /* "ns/name" */
	char *ns, *name, *uid;
	char *owner; /* uid of its ReplicaSet, ReplicationController or StatefulSet */
	cJSON *labels;
	bool terminating;
	bool summarized;
	struct sres req;        /* what it requests, as the fit filter counts */
	int64_t nz_cpu, nz_mem; /* with defaults for containers that request nothing */
	struct sport *ports;
	size_t nports;
	struct saff *aff; /* NULL: no pod affinity terms */
	struct islot *slots;
	size_t nslots, cap_slots;

	struct snode *node; /* where it counts (bound or assumed), or NULL */
	size_t node_pos;    /* in node->pods */
	bool assumed;       /* we chose node; the binding is being written */

	/* queue */
	int qstate;      /* Q_* */
	bool unsched;    /* in the unschedulable list, waiting for news */
	unsigned fails;  /* F_* that rejected it last time */
	size_t heap_pos; /* in the active or the waiting heap */
	uint64_t seq;
	int32_t priority;
	uint32_t attempts;
	uint64_t last_try_ms, wait_until_ms, first_seen_ms;
	struct spod *uprev, *unext;
};

struct snode {
	char *name;
	bool present; /* a Node object exists (pods may name a node before it does) */
	size_t idx;   /* in scheduler.nodes while present */
	cJSON *labels;
	struct slabel *lab; /* the string labels, hashed */
	size_t nlab;
	struct staint *taints; /* with the readiness taint the lifecycle controller would add */
	size_t ntaints;
	bool unschedulable;
	int64_t alloc_pods;
	struct sres alloc, req;
	int64_t nz_cpu, nz_mem;
	struct spod **pods;
	size_t npods, cap_pods;
	size_t naff, nanti; /* pods with any affinity terms; with required anti-affinity */
	struct sport *ports;
	size_t nports, cap_ports;
};

enum { Q_NONE, Q_ACTIVE, Q_WAIT, Q_INFLIGHT };

/* Assigned pods with one label (or of one controller). */
struct ilist {
	char *key;
	struct ientry {
		struct spod *p;
		uint32_t slot;
	} * v;
	size_t n, cap;
};

enum { T_RAFF, T_RANTI, T_PAFF, T_PANTI };

/* Affinity terms of assigned pods that only pods with one label can match. */
struct tentry {
	struct spod *p;
	const struct sterm *t;
	uint8_t kind; /* T_* */
	uint32_t slot;
};

struct tlist {
	char *key;
	struct tentry *v;
	size_t n, cap;
};

struct heap {
	struct spod **v;
	size_t n, cap;
	bool (*less)(const struct spod *a, const struct spod *b);
};

struct scheduler {
	struct client *c;
	struct loop *loop;
	char *name;
	struct scheduler_opts o;
	struct informer *pods_inf, *nodes_inf, *ns_inf;
	bool pods_synced, nodes_synced, stopped;
	size_t inflight; /* client calls whose callbacks still hold us */

	struct strmap nodes_by_name; /* -> snode */
	struct snode **nodes;        /* present nodes */
	size_t nnodes, cap_nodes;
	struct strmap pods; /* key -> spod */
	size_t naff_pods, nanti_pods;
	struct strmap lidx; /* "key\x1fvalue" (or "\x01" owner uid) -> ilist */
	struct strmap tidx; /* "key\x1fvalue" -> tlist */
	struct tlist tany;  /* terms whose selectors name no values */

	struct strmap res_ids; /* resource name -> id + 1 */
	char **res_names;
	uint32_t nres;

	struct heap active, waiting;
	struct spod *uhead; /* unschedulable pods */
	size_t nunsched;
	uint64_t seq;
	unsigned moved; /* F_* of cluster changes not yet applied to the unschedulable pods */
	struct loop_timer run_timer, wait_timer, move_timer;

	size_t next_start; /* where the next search for feasible nodes begins */
	uint64_t rng;
	struct scheduler_stats st;
	/* per-cycle scratch */
	struct snode **feasible;
	int64_t *scratch, *total;
	size_t cap_feasible;
};

/* cache.c */
uint32_t sched_res_id(struct scheduler *s, const char *name);
void sres_add(struct sres *a, const struct sres *b, int sign);
int64_t sres_ext_get(const struct sres *r, uint32_t id);
void sres_free(struct sres *r);
/* Fills p's summary (requests, ports, labels, owner, affinity) from the Pod object. */
void sched_pod_summarize(struct scheduler *s, struct spod *p, const cJSON *pod);
void sched_pod_clear_summary(struct scheduler *s, struct spod *p);
struct spod *sched_pod_new(struct scheduler *s, const char *key, const cJSON *pod);
void sched_pod_free(struct scheduler *s, struct spod *p);
/* Counts p on node n (p summarized) or takes it off. */
void sched_node_add_pod(struct scheduler *s, struct snode *n, struct spod *p);
void sched_node_remove_pod(struct scheduler *s, struct spod *p);
struct snode *sched_node_get(struct scheduler *s, const char *name, bool create);
/* Refreshes n from a Node object; returns the F_* bits whose outcome may have changed. */
unsigned sched_node_update(struct scheduler *s, struct snode *n, const cJSON *node);
void sched_node_gone(struct scheduler *s, struct snode *n);
void sched_node_free(struct snode *n);
const char *sched_label(const cJSON *labels, const char *key);
/* The node's label with that key (kh its hash), or NULL; or just its value. */
const struct slabel *sched_node_label(const struct snode *n, const char *key, uint32_t kh);
static inline const char *sched_node_value(const struct snode *n, const char *key, uint32_t kh)
{
	const struct slabel *l = sched_node_label(n, key, kh);
	return l ? l->v : NULL;
}
bool sched_term_matches(struct scheduler *s, const struct sterm *t, const struct spod *p,
                        const cJSON *ns_labels);
const cJSON *sched_ns_labels(struct scheduler *s, const char *ns);
int sched_compile_terms(struct scheduler *s, const cJSON *arr, bool weighted, const char *ns,
                        const cJSON *pod_labels, struct sterm **out, size_t *n);
void sched_free_terms(struct sterm *t, size_t n);
uint64_t sched_rand(struct scheduler *s);

/* index.c */
typedef void (*sched_pod_fn)(void *arg, struct spod *p);
typedef void (*sched_term_fn)(void *arg, const struct tentry *t);
void sched_index_add(struct scheduler *s, struct spod *p);
void sched_index_remove(struct scheduler *s, struct spod *p);
void sched_index_free(struct scheduler *s);
/* Assigned pods that may match sel (the caller checks): those with its first required
 * label, or every assigned pod when it names none. */
void sched_each_candidate(struct scheduler *s, const struct sel *sel, sched_pod_fn fn, void *arg);
void sched_each_owned(struct scheduler *s, const char *owner, sched_pod_fn fn, void *arg);
/* Terms of assigned pods that may match a pod with these labels (the caller checks). */
void sched_each_term_for(struct scheduler *s, const cJSON *labels, sched_term_fn fn, void *arg);

/* queue.c */
void sched_queue_init(struct scheduler *s);
void sched_queue_free(struct scheduler *s);
/* A new or changed pending pod: to the active queue, or to wait out its back-off. */
void sched_queue_add(struct scheduler *s, struct spod *p);
void sched_queue_remove(struct scheduler *s, struct spod *p);
struct spod *sched_queue_pop(struct scheduler *s);
/* After a failed attempt: unschedulable pods wait for news, errors only back off. */
void sched_queue_failed(struct scheduler *s, struct spod *p, unsigned fails, bool unschedulable);
/* Cluster changes that may help pods rejected by the F_* bits in what. */
void sched_queue_moved(struct scheduler *s, unsigned what);
size_t sched_queue_len(const struct scheduler *s);
uint64_t sched_backoff_ms(const struct scheduler *s, uint32_t attempts);
void sched_kick(struct scheduler *s);

/* --- one decision ------------------------------------------------------------------ */

enum nop { N_IN, N_NOT_IN, N_EXISTS, N_NOT_EXISTS, N_GT, N_LT };

struct nreq {
	const char *key;
	uint32_t kh;
	enum nop op;
	const char **values;
	uint32_t *vh;
	size_t nvalues;
	int64_t num;
};

struct nfield {
	const char *key;
	bool in;
	const char *value;
};

/* A node selector term; bad (invalid) and empty terms match nothing. */
struct nterm {
	struct nreq *reqs;
	size_t nreqs;
	struct nfield *fields;
	size_t nfields;
	bool bad, empty;
	int32_t weight;
};

struct stol {
	const char *key, *op, *value, *effect;
	int eff;     /* EFF_*, EFF_ANY for an empty effect */
	bool exists; /* operator Exists; else Equal (or none), or unknown (never tolerates) */
	bool bad_op;
};

struct stsc {
	const char *key;
	uint32_t kh;
	const char *owner; /* with by_owner */
	int32_t max_skew, min_domains;
	struct sel *sel; /* NULL with by_owner */
	bool by_owner;   /* system default: pods of the same controller */
	bool hard;       /* DoNotSchedule */
	bool honor_affinity, honor_taints;
	/* filter state */
	unsigned char *eligible; /* by node idx: counted in the domains */
	struct tpmap counts;
	int64_t min;
	size_t domains;
	bool self_match;
};

/* The incoming pod, compiled once per attempt. Pointers borrow from the Pod object, which
 * stays put for the attempt (nothing else runs on the loop meanwhile). */
struct sctx {
	struct scheduler *s;
	struct spod *p;
	const cJSON *pod;
	const char *node_name;
	const char **sel_keys, **sel_values; /* nodeSelector */
	uint32_t *sel_kh, *sel_vh;
	size_t nsel;
	bool sel_bad;
	struct nterm *req_terms; /* required node affinity; NULL: none */
	size_t nreq_terms;
	bool has_req_affinity;
	struct nterm *pref_terms;
	size_t npref_terms;
	struct stol *tols;
	size_t ntols;
	struct stsc *tsc; /* the pod's constraints (hard and soft) */
	size_t ntsc;
	struct stsc *soft; /* what scoring spreads by: soft ones, or the system defaults */
	size_t nsoft;
	bool soft_required_all;
	bool best_effort;
	bool preempt_never;
	const cJSON *ns_labels;
	/* InterPodAffinity filter state */
	bool ipa_active;
	struct tpmap ipa_aff, ipa_anti, ipa_existing;
	const struct sterm **existing_terms; /* one per topology key in ipa_existing */
	size_t nexisting_keys;
	bool ipa_self_ok; /* no pod matches the affinity terms, but the pod matches its own */
	/* PodTopologySpread filter state */
	bool spread_active;
};

/* Reasons one node was rejected for, '\0'-separated. */
struct reasons {
	char buf[1536];
	size_t len, n;
};
void reasons_add(struct reasons *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* filter.c */
int sched_ctx_init(struct scheduler *s, struct sctx *c, struct spod *p, const cJSON *pod);
void sched_ctx_free(struct sctx *c);
void sched_prefilter(struct sctx *c);
/* 0 when n fits, else the F_* bit that rejected it (reasons filled when r is not NULL). */
unsigned sched_filter(struct sctx *c, struct snode *n, struct reasons *r);
bool sched_node_matches_affinity(const struct sctx *c, const struct snode *n);
bool sched_tolerated(const struct sctx *c, const struct staint *taint);
bool sched_tolerates_all(const struct sctx *c, const struct snode *n, bool prefer_too,
                         const struct staint **first);
bool sched_nterm_matches(const struct nterm *t, const struct snode *n);
/* Whether assigned pod e counts for constraint t of a pod in namespace ns. */
bool sched_spread_counts(const struct stsc *t, const struct spod *e, const char *ns);

/* score.c */
/* Scores the n feasible nodes into total (weighted sum); per[plugin][i] gets the
 * normalized scores when per is not NULL (-1 for a skipped plugin). */
void sched_score(struct sctx *c, struct snode **nodes, size_t n, int64_t *total,
                 int64_t *per[SCHEDULER_NSCORES]);

#endif
