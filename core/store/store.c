/* store: open and recovery, the writer thread (group commit, checkpoints, compaction),
 * snapshots and watches. See store.h for the model and store-internal.h for the layout. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_TAG "store"
#include "core/log/log.h"
#include "core/store/store-internal.h"

#define FORMAT "tug-store-1"
#define SUB_ALL 0xffffu
#define RESERVE_STEP 10000u
#define COMPACT_CHUNK 1024u

enum req_kind { REQ_TXN, REQ_CHECKPOINT };

struct req {
	enum req_kind kind;
	struct store_op *ops;
	size_t n;
	bool owned; /* ops, keys and values were copied (async) */
	store_done_fn done;
	void *arg;
	bool finished;
	bool auto_compact; /* REQ_CHECKPOINT: also run the age/count policy */
	int rc;
	struct err err;
	struct store_result res;
	struct req *next;
};

struct store_watch {
	struct store *s;
	char *prefix;
	size_t prefix_len;
	struct vptr cursor; /* delivered through here */
	bool armed;
	void (*notify)(void *arg);
	void *arg;
	struct store_watch *next, *prev_w;
};

struct store {
	char *dir, *vdir;
	char **vprefixes;
	size_t nvprefixes;
	size_t max_value, map_size, checkpoint_bytes;
	uint64_t checkpoint_ms, retention_ms, retention_revs;
	bool background;
	struct env env[ENV_MAX];

	/* Guards gen, rev, compacted; readers take it shared. */
	pthread_rwlock_t lock;
	struct memgen *gen;
	uint64_t rev;       /* newest durable and visible revision */
	uint64_t compacted; /* logical */
	uint64_t compact_done[ENV_MAX];
	uint64_t reserved; /* revisions below this may have been handed out */

	/* The writer. */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t qlock;
	pthread_cond_t qcv, donecv;
	struct req *qhead, *qtail;
	bool stopping;
	bool failed;
	struct err fail_err;
	uint64_t last_ckpt_ms, ckpt_retry_ms;
	MDB_txn *rtxn[ENV_MAX]; /* the writer's reads for guard checks */
	struct buf walbuf[ENV_MAX], scratch;

	pthread_mutex_t wlock;
	struct store_watch *watchers;

	struct store_stats stats;
};

struct store_snap {
	struct store *s;
	struct memgen *gen;
	MDB_txn *txn[ENV_MAX];
	uint64_t rev;
};

/* --- small helpers ---------------------------------------------------------- */

static int vcmp(struct vptr a, struct vptr b)
{
	if (a.rev != b.rev)
		return a.rev < b.rev ? -1 : 1;
	return a.sub == b.sub ? 0 : (a.sub < b.sub ? -1 : 1);
}

static void rev_key(uint8_t out[10], uint64_t rev, uint16_t sub)
{
	put_be64(out, rev);
	out[8] = (uint8_t)(sub >> 8);
	out[9] = (uint8_t)sub;
}

static int key_env(const struct store *s, const char *key)
{
	for (size_t i = 0; i < s->nvprefixes; i++)
		if (str_has_prefix(key, s->vprefixes[i]))
			return ENV_VOLATILE;
	return ENV_MAIN;
}

static int mdb_err(struct err *e, int rc, const char *what, const char *path)
{
	int code;
	switch (rc) {
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_VERSION_MISMATCH:
		code = STORE_E_CORRUPT;
		break;
	case MDB_MAP_FULL:
		code = -ENOSPC;
		break;
	case MDB_READERS_FULL:
		code = -EAGAIN;
		break;
	default:
		code = rc > 0 ? -rc : -EIO;
	}
	return err_set(e, code, "%s %s: %s", what, path, mdb_strerror(rc));
}

static bool meta_u64(MDB_txn *t, MDB_dbi dbi, const char *name, uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	if (mdb_get(t, dbi, &k, &v) != 0 || v.mv_size != 8)
		return false;
	*out = get_be64(v.mv_data);
	return true;
}

static int meta_put(MDB_txn *t, MDB_dbi dbi, const char *name, uint64_t val)
{
	uint8_t b[8];
	put_be64(b, val);
	MDB_val k = { strlen(name), (void *)name }, v = { 8, b };
	return mdb_put(t, dbi, &k, &v, 0);
}

/* Reads a version's record from LMDB. */
static int db_rec(const struct env *en, MDB_txn *t, struct vptr p, struct dbrec *out)
{
	uint8_t k[10];
	rev_key(k, p.rev, p.sub);
	MDB_val kv = { 10, k }, v;
	int rc = mdb_get(t, en->rev, &kv, &v);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc)
		return STORE_E_CORRUPT;
	return dbrec_decode(&v, out);
}

/* The newest version of key at or before rev in LMDB. */
struct dbver {
	bool found, tomb;
	struct vptr v;
};

static int db_version(const struct env *en, MDB_txn *t, const char *key, size_t len, uint64_t rev,
                      struct dbver *out)
{
	uint8_t kb[STORE_MAX_KEY + 16];
	MDB_cursor *c;
	MDB_val k = { idx_key(kb, key, len, rev), kb }, v;
	int rc;

	out->found = false;
	if ((rc = mdb_cursor_open(t, en->idx, &c)) != 0)
		return STORE_E_CORRUPT;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == len + 9 && memcmp(k.mv_data, key, len) == 0 &&
	    ((uint8_t *)k.mv_data)[len] == 0 && v.mv_size >= 3) {
		const uint8_t *vb = v.mv_data;
		out->found = true;
		out->v.rev = ~get_be64((uint8_t *)k.mv_data + len + 1);
		out->v.sub = (uint16_t)((vb[0] << 8) | vb[1]);
		out->tomb = vb[2] & IDX_TOMBSTONE;
	}
	mdb_cursor_close(c);
	return (rc == 0 || rc == MDB_NOTFOUND) ? 0 : STORE_E_CORRUPT;
}

/* --- environments ------------------------------------------------------------ */

static int env_open(struct store *s, int which, const char *dir, struct err *e)
{
	struct env *en = &s->env[which];
	MDB_txn *t = NULL;
	MDB_stat st;
	MDB_dbi main_dbi;
	int rc;
	uint64_t epoch = 1;

	if ((rc = mkdir_p(dir, 0700)) < 0)
		return err_set(e, rc, "create store folder %s: %s", dir, strerror(-rc));
	if ((rc = mdb_env_create(&en->env)) != 0)
		return mdb_err(e, rc, "create environment", dir);
	mdb_env_set_maxdbs(en->env, 4);
	mdb_env_set_maxreaders(en->env, 512);
	mdb_env_set_mapsize(en->env, s->map_size);
	/* Reads use transactions that move between threads (NOTLS); the log gives durability
	 * between checkpoints, each checkpoint commit is synced as usual. */
	rc = mdb_env_open(en->env, dir, MDB_NOTLS, 0600);
	if (rc != 0) {
		rc = mdb_err(e, rc, "open store", dir);
		goto fail;
	}
	if ((rc = mdb_txn_begin(en->env, NULL, 0, &t)) != 0) {
		rc = mdb_err(e, rc, "open store", dir);
		goto fail;
	}
	rc = mdb_dbi_open(t, "meta", 0, &en->meta);
	if (rc == MDB_NOTFOUND) {
		/* A new file, or somebody else's LMDB file: touch it only if it is empty. */
		if (mdb_dbi_open(t, NULL, 0, &main_dbi) != 0 || mdb_stat(t, main_dbi, &st) != 0 ||
		    st.ms_entries != 0) {
			rc =
			    err_set(e, STORE_E_CORRUPT,
			            "open store %s: an LMDB database that is not a tug store", dir);
			goto fail;
		}
		if ((rc = mdb_dbi_open(t, "meta", MDB_CREATE, &en->meta)) != 0 ||
		    (rc = mdb_dbi_open(t, "rev", MDB_CREATE, &en->rev)) != 0 ||
		    (rc = mdb_dbi_open(t, "idx", MDB_CREATE, &en->idx)) != 0) {
			rc = mdb_err(e, rc, "initialise store", dir);
			goto fail;
		}
		MDB_val k = { 6, "format" }, v = { strlen(FORMAT), FORMAT };
		if ((rc = mdb_put(t, en->meta, &k, &v, 0)) != 0 ||
		    (rc = meta_put(t, en->meta, "ckpt", s->rev)) != 0 ||
		    (rc = meta_put(t, en->meta, "epoch", 1)) != 0) {
			rc = mdb_err(e, rc, "initialise store", dir);
			goto fail;
		}
		en->ckpt_rev = s->rev;
	} else if (rc != 0) {
		rc = mdb_err(e, rc, "open store", dir);
		goto fail;
	} else {
		MDB_val k = { 6, "format" }, v;
		if (mdb_get(t, en->meta, &k, &v) != 0 || v.mv_size != strlen(FORMAT) ||
		    memcmp(v.mv_data, FORMAT, v.mv_size) != 0) {
			rc = err_set(e, STORE_E_CORRUPT,
			             "open store %s: format is not %s (a newer tug, or not ours)",
			             dir, FORMAT);
			goto fail;
		}
		if ((rc = mdb_dbi_open(t, "rev", 0, &en->rev)) != 0 ||
		    (rc = mdb_dbi_open(t, "idx", 0, &en->idx)) != 0) {
			rc = mdb_err(e, rc, "open store", dir);
			goto fail;
		}
		meta_u64(t, en->meta, "ckpt", &en->ckpt_rev);
		meta_u64(t, en->meta, "epoch", &epoch);
		meta_u64(t, en->meta, "compact", &s->compact_done[which]);
		if (which == ENV_MAIN) {
			uint64_t target = 0;
			meta_u64(t, en->meta, "reserve", &s->reserved);
			if (meta_u64(t, en->meta, "compact_target", &target))
				s->compacted = MAX(s->compacted, target);
			s->compacted = MAX(s->compacted, s->compact_done[which]);
		}
	}
	if ((rc = mdb_txn_commit(t)) != 0) {
		t = NULL;
		rc = mdb_err(e, rc, "open store", dir);
		goto fail;
	}
	en->wal.fd = -1;
	en->used = true;
	en->wal.epoch = (uint32_t)epoch;
	return 0;
fail:
	if (t)
		mdb_txn_abort(t);
	mdb_env_close(en->env);
	en->env = NULL;
	return rc;
}

/* Replay gathers records from a log in order; they are merged into the memtable after. */
struct replay {
	struct store *s;
	int which;
	struct rec **recs;
	size_t n, cap;
	uint64_t last_rev;
	uint64_t reserve;
};

static int replay_one(void *arg, uint64_t rev, uint64_t time_ms, uint32_t flags,
                      const struct wal_rec_op *ops, uint32_t nops)
{
	struct replay *rp = arg;
	if (flags & WAL_F_RESERVE) {
		rp->reserve = MAX(rp->reserve, rev);
		return 0;
	}
	if (rev <= rp->last_rev || rev <= rp->s->env[rp->which].ckpt_rev)
		return STORE_E_CORRUPT;
	rp->last_rev = rev;
	for (uint32_t i = 0; i < nops; i++) {
		struct rec *r = xcalloc(1, sizeof(*r));
		r->rev = rev;
		r->sub = (uint16_t)i;
		r->type = ops[i].type;
		r->env = (uint8_t)rp->which;
		r->create_rev = ops[i].create_rev;
		r->prev = ops[i].prev;
		r->key_len = ops[i].key_len;
		r->key = xstrndup(ops[i].key, ops[i].key_len);
		r->val_len = ops[i].type == STORE_PUT ? ops[i].val_len : 0;
		r->val = r->type == STORE_PUT ? xmemdup(ops[i].val, ops[i].val_len) : NULL;
		if (rp->n == rp->cap) {
			rp->cap = rp->cap ? rp->cap * 2 : 64;
			rp->recs = xrealloc(rp->recs, rp->cap * sizeof(*rp->recs));
		}
		rp->recs[rp->n++] = r;
	}
	return 0;
}

/* Records already in an env's LMDB past the common base go back into the memtable,
 * so that the memtable always holds every revision after gen->base_rev. */
static int load_db_tail(struct store *s, int which, uint64_t base, struct replay *rp, struct err *e)
{
	struct env *en = &s->env[which];
	MDB_txn *t;
	MDB_cursor *c;
	uint8_t kb[10];
	int rc;

	if (en->ckpt_rev <= base)
		return 0;
	if ((rc = mdb_txn_begin(en->env, NULL, MDB_RDONLY, &t)) != 0)
		return mdb_err(e, rc, "read store", s->dir);
	mdb_cursor_open(t, en->rev, &c);
	rev_key(kb, base + 1, 0);
	MDB_val k = { 10, kb }, v;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct dbrec d;
		const uint8_t *kp = k.mv_data;
		if (k.mv_size != 10 || dbrec_decode(&v, &d) < 0) {
			rc = STORE_E_CORRUPT;
			break;
		}
		struct rec *r = xcalloc(1, sizeof(*r));
		r->rev = get_be64(kp);
		r->sub = (uint16_t)((kp[8] << 8) | kp[9]);
		r->type = d.type;
		r->env = (uint8_t)which;
		r->create_rev = d.create_rev;
		r->prev = d.prev;
		r->key_len = (uint32_t)d.key_len;
		r->key = xstrndup(d.key, d.key_len);
		r->val_len = d.type == STORE_PUT ? (uint32_t)d.val_len : 0;
		r->val = d.type == STORE_PUT ? xmemdup(d.val, d.val_len) : NULL;
		if (rp->n == rp->cap) {
			rp->cap = rp->cap ? rp->cap * 2 : 64;
			rp->recs = xrealloc(rp->recs, rp->cap * sizeof(*rp->recs));
		}
		rp->recs[rp->n++] = r;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(t);
	if (rc != MDB_NOTFOUND)
		return err_set(e, STORE_E_CORRUPT, "read store %s: damaged revision record",
		               s->dir);
	return 0;
}

static int rec_order(const void *a, const void *b)
{
	const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
	return vcmp((struct vptr){ x->rev, x->sub }, (struct vptr){ y->rev, y->sub });
}

static void *writer_main(void *arg);

int store_open(struct store **out, const struct store_opts *o, struct err *e)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct replay rp[ENV_MAX] = { { 0 } };
	char path[4096];
	int rc;
	bool vol_fresh = false;

	/* A log write past RLIMIT_FSIZE must fail with EFBIG, not kill us. */
	signal(SIGXFSZ, SIG_IGN);
	s->dir = xstrdup(o->dir);
	s->max_value = o->max_value ? o->max_value : 1572864;
	s->map_size =
	    o->map_size ? o->map_size : (sizeof(void *) == 8 ? (1ull << 30) : (256u << 20));
	s->checkpoint_ms = o->checkpoint_ms ? o->checkpoint_ms : 5000;
	s->checkpoint_bytes = o->checkpoint_bytes ? o->checkpoint_bytes : (4u << 20);
	s->retention_ms = o->retention_ms ? o->retention_ms : 300000;
	s->retention_revs = o->retention_revisions ? o->retention_revisions : 10000;
	s->background = !o->no_background;
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->qcv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->donecv, NULL);
	for (int i = 0; i < ENV_MAX; i++)
		s->env[i].wal.fd = -1;

	if ((rc = env_open(s, ENV_MAIN, o->dir, e)) < 0)
		goto fail;
	if (o->volatile_dir && o->volatile_dir[0]) {
		s->vdir = xstrdup(o->volatile_dir);
		for (const char *const *p = o->volatile_prefixes; p && *p; p++) {
			s->vprefixes = xrealloc(s->vprefixes, (s->nvprefixes + 1) * sizeof(char *));
			s->vprefixes[s->nvprefixes++] = xstrdup(*p);
		}
		snprintf(path, sizeof(path), "%s/data.mdb", o->volatile_dir);
		struct stat st;
		vol_fresh = stat(path, &st) != 0;
		rc = env_open(s, ENV_VOLATILE, o->volatile_dir, e);
		if (rc == STORE_E_CORRUPT) {
			/* Volatile data may be thrown away: start it again. */
			log_warn("%s; starting the volatile store afresh", e->msg);
			snprintf(path, sizeof(path), "%s/data.mdb", o->volatile_dir);
			unlink(path);
			snprintf(path, sizeof(path), "%s/lock.mdb", o->volatile_dir);
			unlink(path);
			snprintf(path, sizeof(path), "%s/wal", o->volatile_dir);
			unlink(path);
			vol_fresh = true;
			rc = env_open(s, ENV_VOLATILE, o->volatile_dir, e);
		}
		if (rc < 0)
			goto fail;
	}

	/* Replay each log. */
	for (int i = 0; i < ENV_MAX; i++) {
		struct env *en = &s->env[i];
		if (!en->used)
			continue;
		rp[i].s = s;
		rp[i].which = i;
		snprintf(path, sizeof(path), "%s/wal", i == ENV_MAIN ? s->dir : s->vdir);
		if ((rc = wal_open(&en->wal, path, en->wal.epoch, i == ENV_MAIN, replay_one, &rp[i],
		                   e)) < 0)
			goto fail;
		s->rev = MAX(s->rev, MAX(en->ckpt_rev, rp[i].last_rev));
	}
	s->reserved = MAX(s->reserved, rp[ENV_MAIN].reserve);
	if (s->env[ENV_VOLATILE].used && vol_fresh) {
		/* The volatile store was lost (reboot): revisions it handed out are gone, so
		 * start past every revision that may have been seen. */
		s->rev = MAX(s->rev, s->reserved);
		s->env[ENV_VOLATILE].ckpt_rev = s->rev;
	}
	uint64_t base = s->rev;
	for (int i = 0; i < ENV_MAX; i++)
		if (s->env[i].used)
			base = MIN(base, s->env[i].ckpt_rev);
	for (int i = 0; i < ENV_MAX; i++)
		if (s->env[i].used && (rc = load_db_tail(s, i, base, &rp[i], e)) < 0)
			goto fail;

	/* Merge into the memtable in revision order. */
	s->gen = mem_new(base);
	size_t total = rp[0].n + rp[1].n;
	struct rec **all = xmalloc((total ? total : 1) * sizeof(*all));
	if (rp[0].n)
		memcpy(all, rp[0].recs, rp[0].n * sizeof(*all));
	if (rp[1].n)
		memcpy(all + rp[0].n, rp[1].recs, rp[1].n * sizeof(*all));
	if (total)
		qsort(all, total, sizeof(*all), rec_order);
	for (size_t i = 0; i < total; i++)
		mem_append(s->gen, all[i]);
	free(all);
	free(rp[0].recs);
	free(rp[1].recs);
	rp[0].recs = rp[1].recs = NULL;
	rp[0].n = rp[1].n = 0;
	if (s->compacted > s->rev)
		s->compacted = s->rev;
	s->last_ckpt_ms = time_mono_ms();
	if (total)
		log_info("store %s: recovered %zu writes from the log, revision %llu", s->dir,
		         total, (unsigned long long)s->rev);

	for (int i = 0; i < ENV_MAX; i++) {
		if (!s->env[i].used)
			continue;
		if ((rc = mdb_txn_begin(s->env[i].env, NULL, MDB_RDONLY, &s->rtxn[i])) != 0) {
			rc = mdb_err(e, rc, "read store", s->dir);
			goto fail;
		}
	}
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
		rc = err_set(e, -EAGAIN, "open store %s: cannot start the writer thread", s->dir);
		goto fail;
	}
	s->thread_started = true;
	*out = s;
	return 0;
fail:
	for (int i = 0; i < ENV_MAX; i++) {
		for (size_t j = 0; j < rp[i].n; j++)
			rec_free(rp[i].recs[j]);
		free(rp[i].recs);
	}
	store_close(s);
	return rc;
}

/* --- the writer ------------------------------------------------------------------ */

/* What the writer knows of a key's newest version, across this batch, memtable, LMDB. */
struct cur {
	bool exists;
	uint64_t mod_rev, create_rev;
	struct vptr v; /* the newest version, tombstone included; rev 0: never written */
};

/* Keys written earlier in the batch being built (not yet visible to anyone). */
struct pending {
	struct rec **recs;
	size_t n, cap;
};

static struct rec *pending_find(struct pending *p, const char *key, size_t len)
{
	for (size_t i = p->n; i-- > 0;)
		if (p->recs[i]->key_len == len && memcmp(p->recs[i]->key, key, len) == 0)
			return p->recs[i];
	return NULL;
}

static void cur_from_rec(struct cur *c, const struct rec *r)
{
	c->exists = r->type == STORE_PUT;
	c->mod_rev = r->rev;
	c->create_rev = r->create_rev;
	c->v = (struct vptr){ r->rev, r->sub };
}

static int lookup_cur(struct store *s, struct pending *p, const char *key, size_t len,
                      struct cur *c)
{
	struct rec *r;
	memset(c, 0, sizeof(*c));
	if ((r = pending_find(p, key, len)) || (r = mem_latest(s->gen, key, len))) {
		cur_from_rec(c, r);
		return 0;
	}
	int which = key_env(s, key);
	struct env *en = &s->env[which];
	struct dbver dv;
	int rc = db_version(en, s->rtxn[which], key, len, UINT64_MAX, &dv);
	if (rc < 0 || !dv.found)
		return rc;
	c->v = dv.v;
	c->mod_rev = dv.v.rev;
	if (dv.tomb)
		return 0;
	struct dbrec d;
	if ((rc = db_rec(en, s->rtxn[which], dv.v, &d)) < 0)
		return rc == -ENOENT ? STORE_E_CORRUPT : rc;
	c->exists = true;
	c->create_rev = d.create_rev;
	return 0;
}

static bool key_ok(const char *k, size_t *len)
{
	size_t n = 0;
	for (; k[n]; n++)
		if ((unsigned char)k[n] < 0x20 || k[n] == 0x7f)
			return false;
	*len = n;
	return n > 0 && n <= STORE_MAX_KEY;
}

static const char *op_verb(const struct store_op *op)
{
	if (op->type == STORE_DELETE)
		return "delete";
	return op->expect_rev == STORE_ABSENT ? "create" : op->expect_rev > 0 ? "update" : "put";
}

/*
 * Checks one transaction against the current state and, if every guard holds,
 * appends its records to the batch at revision rev. Returns 0, or the error the
 * requester gets (nothing of it is kept).
 */
static int stage_txn(struct store *s, struct req *q, uint64_t rev, struct pending *p, int *env_out)
{
	size_t n = q->n, lens[64], *len = n <= 64 ? lens : xmalloc(n * sizeof(size_t));
	int env = -1, rc = 0;
	size_t first = p->n;

	if (n == 0 || n > 4096) {
		rc = err_set(&q->err, -EINVAL, "transaction with %zu operations (1 to 4096)", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_op *op = &q->ops[i];
		if (!op->key || !key_ok(op->key, &len[i])) {
			rc = err_set(&q->err,
			             op->key && strlen(op->key) > STORE_MAX_KEY ? -E2BIG : -EINVAL,
			             "%s %.80s: key must be 1 to %d printable bytes", op_verb(op),
			             op->key ? op->key : "(null)", STORE_MAX_KEY);
			goto out;
		}
		if (op->type == STORE_PUT && op->val_len > s->max_value) {
			rc = err_set(&q->err, -E2BIG,
			             "%s %s: value of %zu bytes is over the limit of %zu",
			             op_verb(op), op->key, op->val_len, s->max_value);
			goto out;
		}
		if ((op->type != STORE_PUT && op->type != STORE_DELETE) ||
		    (op->type == STORE_DELETE && op->expect_rev == STORE_ABSENT) ||
		    op->expect_rev < STORE_ANY ||
		    (op->type == STORE_PUT && op->val_len && !op->val)) {
			rc = err_set(&q->err, -EINVAL, "%s %s: invalid operation", op_verb(op),
			             op->key);
			goto out;
		}
		int ke = key_env(s, op->key);
		if (env >= 0 && ke != env) {
			rc = err_set(&q->err, -EINVAL,
			             "transaction mixes durable and volatile keys (%s)", op->key);
			goto out;
		}
		env = ke;
		for (size_t j = 0; j < i; j++)
			if (len[j] == len[i] && !memcmp(q->ops[j].key, op->key, len[i])) {
				rc = err_set(&q->err, -EINVAL, "transaction names %s twice",
				             op->key);
				goto out;
			}
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_op *op = &q->ops[i];
		struct cur c;
		if ((rc = lookup_cur(s, p, op->key, len[i], &c)) < 0) {
			err_set(&q->err, rc, "%s %s: cannot read the current version", op_verb(op),
			        op->key);
			goto out;
		}
		q->res.failed_op = i;
		q->res.cur_rev = c.exists ? c.mod_rev : 0;
		if (op->expect_rev == STORE_ABSENT && c.exists) {
			rc = err_set(&q->err, -EEXIST, "create %s: already exists (revision %llu)",
			             op->key, (unsigned long long)c.mod_rev);
			goto out;
		}
		if ((op->expect_rev > 0 || op->type == STORE_DELETE) && !c.exists) {
			rc = err_set(&q->err, -ENOENT, "%s %s: not found", op_verb(op), op->key);
			goto out;
		}
		if (op->expect_rev > 0 && c.mod_rev != (uint64_t)op->expect_rev) {
			rc = err_set(&q->err, STORE_E_STALE,
			             "%s %s: revision %lld is stale (now %llu)", op_verb(op),
			             op->key, (long long)op->expect_rev,
			             (unsigned long long)c.mod_rev);
			goto out;
		}
		struct rec *r = xcalloc(1, sizeof(*r));
		r->rev = rev;
		r->sub = (uint16_t)i;
		r->type = (uint8_t)op->type;
		r->env = (uint8_t)env;
		r->create_rev = c.exists ? c.create_rev : rev;
		r->prev = c.exists ? c.v : (op->type == STORE_DELETE ? c.v : (struct vptr){ 0, 0 });
		r->key_len = (uint32_t)len[i];
		r->key = xmemdup(op->key, len[i] + 1);
		if (op->type == STORE_PUT) {
			r->val_len = (uint32_t)op->val_len;
			r->val = xmalloc(op->val_len + 1);
			if (op->val_len)
				memcpy(r->val, op->val, op->val_len);
			r->val[op->val_len] = '\0';
		}
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 64;
			p->recs = xrealloc(p->recs, p->cap * sizeof(*p->recs));
		}
		p->recs[p->n++] = r;
	}
	q->res.failed_op = 0;
	q->res.cur_rev = 0;
	q->res.rev = rev;
	*env_out = env;
out:
	if (rc < 0) {
		for (size_t i = first; i < p->n; i++)
			rec_free(p->recs[i]);
		p->n = first;
	}
	if (len != lens)
		free(len);
	return rc;
}

static void notify_watchers(struct store *s, struct rec **recs, size_t n)
{
	if (!n)
		return;
	struct vptr last = { recs[n - 1]->rev, SUB_ALL };
	pthread_mutex_lock(&s->wlock);
	for (struct store_watch *w = s->watchers; w; w = w->next) {
		if (!w->armed)
			continue;
		bool match = false;
		for (size_t i = 0; i < n && !match; i++)
			match = recs[i]->key_len >= w->prefix_len &&
			        !memcmp(recs[i]->key, w->prefix, w->prefix_len);
		if (match) {
			w->armed = false;
			w->notify(w->arg);
		} else {
			/* Nothing for it: a caught-up watcher stays caught up. */
			w->cursor = last;
		}
	}
	pthread_mutex_unlock(&s->wlock);
}

static void finish(struct store *s, struct req *q, int rc)
{
	q->rc = rc;
	if (rc >= 0)
		err_clear(&q->err);
	if (q->done) {
		q->done(q->arg, rc, &q->res, &q->err);
		if (q->owned) {
			for (size_t i = 0; i < q->n; i++) {
				free((void *)q->ops[i].key);
				free((void *)q->ops[i].val);
			}
			free(q->ops);
		}
		free(q);
		return;
	}
	pthread_mutex_lock(&s->qlock);
	q->finished = true;
	pthread_mutex_unlock(&s->qlock);
}

static void process_batch(struct store *s, struct req *batch)
{
	struct pending p = { 0 };
	uint64_t rev = s->rev;
	uint64_t seq0[ENV_MAX], now = time_real_ms(), reserved0 = s->reserved;
	size_t nrec[ENV_MAX] = { 0 };
	int rc = 0;
	struct err werr = { 0 };

	for (int i = 0; i < ENV_MAX; i++) {
		buf_reset(&s->walbuf[i]);
		seq0[i] = s->env[i].wal.seq;
	}
	for (struct req *q = batch; q; q = q->next) {
		int env = ENV_MAIN;
		q->rc = 1; /* staged */
		if (q->kind != REQ_TXN)
			continue;
		if (s->failed) {
			q->rc = err_set(&q->err, -EIO, "%s", s->fail_err.msg);
			continue;
		}
		size_t first = p.n;
		if ((q->rc = stage_txn(s, q, rev + 1, &p, &env)) < 0)
			continue;
		rev++;
		struct env *en = &s->env[env];
		wal_encode(&s->walbuf[env], en->wal.epoch, en->wal.seq + 1 + nrec[env],
		           seq0[env] + 1, rev, now, 0, p.recs + first, p.n - first);
		nrec[env]++;
		q->rc = 1;
	}
	if (p.n == 0)
		goto complete;

	/* Revisions handed out for volatile keys must never be handed out again, even if
	 * tmpfs is wiped: reserve them ahead in the durable log. */
	if (nrec[ENV_VOLATILE] && rev >= s->reserved) {
		struct env *en = &s->env[ENV_MAIN];
		uint64_t r = rev + RESERVE_STEP;
		wal_encode(&s->walbuf[ENV_MAIN], en->wal.epoch, en->wal.seq + 1 + nrec[ENV_MAIN],
		           seq0[ENV_MAIN] + 1, r, now, WAL_F_RESERVE, NULL, 0);
		nrec[ENV_MAIN]++;
		s->reserved = r;
	}
	uint64_t off0[ENV_MAX];
	for (int i = 0; i < ENV_MAX; i++)
		off0[i] = s->env[i].wal.off;
	for (int i = ENV_MAX - 1; i >= 0 && rc == 0; i--) {
		if (!nrec[i])
			continue;
		rc = wal_write(&s->env[i].wal, &s->walbuf[i], nrec[i], &werr);
		if (rc == 0 && i == ENV_MAIN)
			s->stats.syncs++;
	}
	if (rc < 0) {
		/* Undo the volatile half if the durable half failed. */
		struct wal *vw = &s->env[ENV_VOLATILE].wal;
		if (nrec[ENV_VOLATILE] && vw->off != off0[ENV_VOLATILE]) {
			vw->off = off0[ENV_VOLATILE];
			vw->seq = seq0[ENV_VOLATILE];
			if (ftruncate(vw->fd, (off_t)vw->off) < 0)
				rc = -EIO;
		}
		if (rc != -ENOSPC) {
			s->failed = true;
			err_set(&s->fail_err, -EIO,
			        "store %s is read-only until restart after a log error: %s", s->dir,
			        werr.msg);
			log_error("%s", s->fail_err.msg);
		} else {
			log_warn("%s", werr.msg);
		}
		for (struct req *q = batch; q; q = q->next)
			if (q->kind == REQ_TXN && q->rc == 1)
				q->rc = err_set(&q->err, rc, "%s", werr.msg);
		for (size_t i = 0; i < p.n; i++)
			rec_free(p.recs[i]);
		s->reserved = reserved0;
		goto complete;
	}

	pthread_rwlock_wrlock(&s->lock);
	for (size_t i = 0; i < p.n; i++)
		mem_append(s->gen, p.recs[i]);
	s->rev = rev;
	pthread_rwlock_unlock(&s->lock);
	s->stats.batches++;
	notify_watchers(s, p.recs, p.n);

complete:
	for (struct req *q = batch; q;) {
		struct req *next = q->next;
		if (q->kind == REQ_TXN) {
			if (q->rc == 1)
				s->stats.txns++;
			finish(s, q, q->rc == 1 ? 0 : q->rc);
		}
		q = next;
	}
	free(p.recs);
}

/* --- checkpoint and compaction ------------------------------------------------------ */

/* Deletes history at or before `upto` in one env, at most COMPACT_CHUNK records. */
static int compact_step(struct store *s, int which, MDB_txn *t, uint64_t upto, bool *more)
{
	struct env *en = &s->env[which];
	MDB_cursor *c;
	uint8_t kb[10];
	uint64_t last_full = s->compact_done[which], cur_rev = 0;
	unsigned n = 0;
	int rc;

	*more = false;
	if (upto <= s->compact_done[which])
		return 0;
	if ((rc = mdb_cursor_open(t, en->rev, &c)) != 0)
		return rc;
	rev_key(kb, s->compact_done[which] + 1, 0);
	MDB_val k = { 10, kb }, v;
	/* Collect work first: deleting under the cursor would move it. */
	struct work {
		struct vptr self, prev;
		bool del_self;
		char *key;
		size_t key_len;
	} *w = NULL;
	size_t nw = 0, cap = 0;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *kp = k.mv_data;
		uint64_t r = get_be64(kp);
		struct dbrec d;
		if (r > upto)
			break;
		if (r != cur_rev) {
			if (n >= COMPACT_CHUNK) {
				*more = true;
				break;
			}
			last_full = cur_rev ? cur_rev : last_full;
			cur_rev = r;
		}
		if (dbrec_decode(&v, &d) < 0)
			continue;
		n++;
		if (nw == cap) {
			cap = cap ? cap * 2 : 256;
			w = xrealloc(w, cap * sizeof(*w));
		}
		w[nw++] = (struct work){ .self = { r, (uint16_t)((kp[8] << 8) | kp[9]) },
			                 .prev = d.prev,
			                 .del_self = d.type == STORE_DELETE,
			                 .key = xstrndup(d.key, d.key_len),
			                 .key_len = d.key_len };
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_cursor_close(c);
		goto out;
	}
	/* A chunk stops only at a revision boundary, so what was collected is whole. */
	last_full = *more ? last_full : upto;
	mdb_cursor_close(c);
	rc = 0;
	for (size_t i = 0; i < nw; i++) {
		uint8_t ik[STORE_MAX_KEY + 16], rk[10];
		struct vptr del[2] = { w[i].prev, w[i].self };
		for (int j = 0; j < (w[i].del_self ? 2 : 1); j++) {
			if (!del[j].rev)
				continue;
			rev_key(rk, del[j].rev, del[j].sub);
			MDB_val dk = { 10, rk };
			int r1 = mdb_del(t, en->rev, &dk, NULL);
			MDB_val ikv = { idx_key(ik, w[i].key, w[i].key_len, del[j].rev), ik };
			int r2 = mdb_del(t, en->idx, &ikv, NULL);
			if ((r1 && r1 != MDB_NOTFOUND) || (r2 && r2 != MDB_NOTFOUND)) {
				rc = r1 && r1 != MDB_NOTFOUND ? r1 : r2;
				goto out;
			}
		}
	}
	rc = meta_put(t, en->meta, "compact", last_full);
	if (rc == 0)
		s->compact_done[which] = last_full;
	/* Drop time samples that fell behind. */
	if (rc == 0 && which == ENV_MAIN) {
		MDB_cursor *tc;
		uint8_t tk[9] = { 't' };
		mdb_cursor_open(t, en->meta, &tc);
		MDB_val k2 = { 9, tk }, v2;
		for (int r2 = mdb_cursor_get(tc, &k2, &v2, MDB_SET_RANGE); r2 == 0;
		     r2 = mdb_cursor_get(tc, &k2, &v2, MDB_NEXT)) {
			if (k2.mv_size != 9 || ((uint8_t *)k2.mv_data)[0] != 't' ||
			    get_be64((uint8_t *)k2.mv_data + 1) >= last_full)
				break;
			mdb_cursor_del(tc, 0);
		}
		mdb_cursor_close(tc);
	}
out:
	for (size_t i = 0; i < nw; i++)
		free(w[i].key);
	free(w);
	return rc;
}

static int checkpoint_env(struct store *s, int which, struct memgen *g, struct err *e)
{
	struct env *en = &s->env[which];
	MDB_txn *t;
	int rc;
	uint64_t upto = s->rev;
	bool more = false;

	if ((rc = mdb_txn_begin(en->env, NULL, 0, &t)) != 0)
		return mdb_err(e, rc, "checkpoint", s->dir);
	for (size_t i = 0; i < g->count; i++) {
		struct rec *r = mem_at(g, i);
		if (r->env != which || r->rev <= en->ckpt_rev)
			continue;
		uint8_t rk[10], ik[STORE_MAX_KEY + 16], iv[3];
		rev_key(rk, r->rev, r->sub);
		dbrec_encode(&s->scratch, r);
		MDB_val k = { 10, rk }, v = { s->scratch.len, s->scratch.data };
		if ((rc = mdb_put(t, en->rev, &k, &v, MDB_APPEND)) != 0)
			goto fail;
		iv[0] = (uint8_t)(r->sub >> 8);
		iv[1] = (uint8_t)r->sub;
		iv[2] = r->type == STORE_DELETE ? IDX_TOMBSTONE : 0;
		MDB_val ikk = { idx_key(ik, r->key, r->key_len, r->rev), ik }, ivv = { 3, iv };
		if ((rc = mdb_put(t, en->idx, &ikk, &ivv, 0)) != 0)
			goto fail;
	}
	if ((rc = meta_put(t, en->meta, "ckpt", upto)) != 0 ||
	    (rc = meta_put(t, en->meta, "epoch", en->wal.epoch + 1)) != 0)
		goto fail;
	if (which == ENV_MAIN) {
		uint8_t tk[9] = { 't' }, tv[8];
		put_be64(tk + 1, upto);
		put_be64(tv, time_real_ms());
		MDB_val k = { 9, tk }, v = { 8, tv };
		if ((rc = meta_put(t, en->meta, "reserve", s->reserved)) != 0 ||
		    (rc = meta_put(t, en->meta, "compact_target", s->compacted)) != 0 ||
		    (g->count && (rc = mdb_put(t, en->meta, &k, &v, 0)) != 0))
			goto fail;
	}
	/* Fold one chunk of compaction into the same commit: one sync for both. */
	uint64_t target = MIN(s->compacted, upto);
	if ((rc = compact_step(s, which, t, target, &more)) != 0)
		goto fail;
	if ((rc = mdb_txn_commit(t)) != 0)
		return mdb_err(e, rc, "checkpoint", s->dir);
	en->ckpt_rev = upto;
	wal_reset(&en->wal, en->wal.epoch + 1);
	return more ? 1 : 0;
fail:
	mdb_txn_abort(t);
	return mdb_err(e, rc, "checkpoint", s->dir);
}

/* Picks the compaction target from the age and count limits. */
static void auto_compact_target(struct store *s)
{
	uint64_t target = s->rev > s->retention_revs ? s->rev - s->retention_revs : 0;
	uint64_t cutoff = time_real_ms() - MIN(time_real_ms(), s->retention_ms);
	struct env *en = &s->env[ENV_MAIN];
	MDB_cursor *c;
	uint8_t tk[9] = { 't' };

	if (mdb_cursor_open(s->rtxn[ENV_MAIN], en->meta, &c) == 0) {
		MDB_val k = { 9, tk }, v;
		for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			if (k.mv_size != 9 || ((uint8_t *)k.mv_data)[0] != 't' || v.mv_size != 8)
				break;
			if (get_be64(v.mv_data) > cutoff)
				break;
			target = MAX(target, get_be64((uint8_t *)k.mv_data + 1));
		}
		mdb_cursor_close(c);
	}
	if (target > s->compacted) {
		pthread_rwlock_wrlock(&s->lock);
		s->compacted = MIN(target, s->rev);
		pthread_rwlock_unlock(&s->lock);
	}
}

static void renew_reads(struct store *s)
{
	for (int i = 0; i < ENV_MAX; i++) {
		if (!s->rtxn[i])
			continue;
		mdb_txn_reset(s->rtxn[i]);
		if (mdb_txn_renew(s->rtxn[i]) != 0) {
			mdb_txn_abort(s->rtxn[i]);
			s->rtxn[i] = NULL;
			mdb_txn_begin(s->env[i].env, NULL, MDB_RDONLY, &s->rtxn[i]);
		}
	}
}

/* Returns 1 if more compaction work waits, 0 when done, <0 on error. */
static int do_checkpoint(struct store *s, struct err *e)
{
	struct memgen *g = s->gen;
	int rc = 0, more = 0;

	bool compact_due = false;
	for (int i = 0; i < ENV_MAX; i++)
		if (s->env[i].used && MIN(s->compacted, g->base_rev) > s->compact_done[i])
			compact_due = true;
	if (g->count == 0 && !compact_due) {
		s->last_ckpt_ms = time_mono_ms();
		return 0;
	}
	for (int i = 0; i < ENV_MAX; i++) {
		if (!s->env[i].used)
			continue;
		if ((rc = checkpoint_env(s, i, g, e)) < 0)
			break;
		more |= rc;
	}
	s->last_ckpt_ms = time_mono_ms();
	renew_reads(s);
	if (rc < 0)
		return rc;
	s->stats.checkpoints++;
	struct memgen *ng = mem_new(s->rev);
	pthread_rwlock_wrlock(&s->lock);
	s->gen = ng;
	pthread_rwlock_unlock(&s->lock);
	mem_unref(g);
	return more;
}

static uint64_t next_due(struct store *s)
{
	return s->last_ckpt_ms + MAX(s->checkpoint_ms, s->ckpt_retry_ms);
}

static void wake_waiters(struct store *s)
{
	pthread_mutex_lock(&s->qlock);
	pthread_cond_broadcast(&s->donecv);
	pthread_mutex_unlock(&s->qlock);
}

/*
 * The writer: takes everything queued as one batch (one log sync for all of it),
 * then folds the log into LMDB when that is due. Idle, it wakes once per
 * checkpoint interval so that age-based compaction still happens.
 */
static void *writer_main(void *arg)
{
	struct store *s = arg;
	bool compact_more = false;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (!s->qhead && !s->stopping && !compact_more) {
			if (!s->background) {
				pthread_cond_wait(&s->qcv, &s->qlock);
				continue;
			}
			uint64_t due = next_due(s), now = time_mono_ms();
			if (now >= due)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (due - now) * 1000000u;
			ts.tv_sec += (time_t)(ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
			if (pthread_cond_timedwait(&s->qcv, &s->qlock, &ts) != 0)
				break;
		}
		struct req *batch = s->qhead;
		s->qhead = s->qtail = NULL;
		bool stopping = s->stopping;
		pthread_mutex_unlock(&s->qlock);

		/* Split the queue: transactions now, checkpoint requests after them. */
		struct req *txns = NULL, **tt = &txns, *cks = NULL, **ct = &cks;
		bool want_ckpt = compact_more || stopping, want_auto = s->background;
		for (struct req *q = batch, *next; q; q = next) {
			next = q->next;
			if (q->kind == REQ_TXN) {
				*tt = q;
				tt = &q->next;
			} else {
				*ct = q;
				ct = &q->next;
				want_ckpt = true;
				want_auto |= q->auto_compact;
			}
		}
		*tt = *ct = NULL;
		if (txns) {
			process_batch(s, txns);
			wake_waiters(s);
		}
		if (s->background &&
		    (s->gen->bytes >= s->checkpoint_bytes || time_mono_ms() >= next_due(s)))
			want_ckpt = true;
		int crc = 0;
		struct err ce = { 0 };
		if (want_ckpt && !s->failed) {
			if (want_auto)
				auto_compact_target(s);
			crc = do_checkpoint(s, &ce);
			if (crc < 0) {
				s->ckpt_retry_ms =
				    MIN(s->ckpt_retry_ms ? s->ckpt_retry_ms * 2 : 1000, 60000);
				log_warn("%s (the log keeps every write; retrying)", ce.msg);
			} else {
				s->ckpt_retry_ms = 0;
			}
			compact_more = crc == 1;
		}
		for (struct req *q = cks, *next; q; q = next) {
			next = q->next;
			if (crc < 0)
				q->err = ce;
			finish(s, q,
			       s->failed ? err_set(&q->err, -EIO, "%s", s->fail_err.msg)
			                 : (crc < 0 ? crc : 0));
		}
		if (cks)
			wake_waiters(s);
		if (stopping && !compact_more) {
			pthread_mutex_lock(&s->qlock);
			bool empty = !s->qhead;
			pthread_mutex_unlock(&s->qlock);
			if (empty)
				break;
		}
	}
	return NULL;
}

static void enqueue(struct store *s, struct req *q)
{
	pthread_mutex_lock(&s->qlock);
	q->next = NULL;
	if (s->qtail)
		s->qtail->next = q;
	else
		s->qhead = q;
	s->qtail = q;
	pthread_cond_signal(&s->qcv);
	pthread_mutex_unlock(&s->qlock);
}

static int submit_wait(struct store *s, struct req *q)
{
	enqueue(s, q);
	pthread_mutex_lock(&s->qlock);
	while (!q->finished)
		pthread_cond_wait(&s->donecv, &s->qlock);
	pthread_mutex_unlock(&s->qlock);
	return q->rc;
}

/* --- public: writes ---------------------------------------------------------------- */

int store_txn(struct store *s, const struct store_op *ops, size_t n, struct store_result *res,
              struct err *e)
{
	struct req q = { .kind = REQ_TXN, .ops = (struct store_op *)ops, .n = n };
	int rc = submit_wait(s, &q);
	if (res)
		*res = q.res;
	if (rc < 0 && e)
		*e = q.err;
	return rc;
}

void store_txn_async(struct store *s, const struct store_op *ops, size_t n, store_done_fn done,
                     void *arg)
{
	struct req *q = xcalloc(1, sizeof(*q));
	q->kind = REQ_TXN;
	q->owned = true;
	q->done = done;
	q->arg = arg;
	q->n = n;
	q->ops = xcalloc(n ? n : 1, sizeof(*q->ops));
	for (size_t i = 0; i < n; i++) {
		q->ops[i] = ops[i];
		q->ops[i].key = ops[i].key ? xstrdup(ops[i].key) : NULL;
		q->ops[i].val = ops[i].val_len ? xmemdup(ops[i].val, ops[i].val_len) : NULL;
	}
	enqueue(s, q);
}

static int one(struct store *s, enum store_op_type type, const char *key, const void *val,
               size_t len, int64_t expect, uint64_t *rev, struct err *e)
{
	struct store_op op = {
		.type = type, .key = key, .val = val, .val_len = len, .expect_rev = expect
	};
	struct store_result res;
	int rc = store_txn(s, &op, 1, &res, e);
	if (rc == 0 && rev)
		*rev = res.rev;
	return rc;
}

int store_create(struct store *s, const char *key, const void *val, size_t len, uint64_t *rev,
                 struct err *e)
{
	return one(s, STORE_PUT, key, val, len, STORE_ABSENT, rev, e);
}

int store_update(struct store *s, const char *key, const void *val, size_t len, int64_t expect_rev,
                 uint64_t *rev, struct err *e)
{
	return one(s, STORE_PUT, key, val, len, expect_rev, rev, e);
}

int store_put(struct store *s, const char *key, const void *val, size_t len, uint64_t *rev,
              struct err *e)
{
	return one(s, STORE_PUT, key, val, len, STORE_ANY, rev, e);
}

int store_delete(struct store *s, const char *key, int64_t expect_rev, uint64_t *rev, struct err *e)
{
	return one(s, STORE_DELETE, key, NULL, 0, expect_rev, rev, e);
}

int store_checkpoint(struct store *s, struct err *e)
{
	struct req q = { .kind = REQ_CHECKPOINT };
	int rc = submit_wait(s, &q);
	if (rc < 0 && e)
		*e = q.err;
	return rc;
}

int store_compact(struct store *s, uint64_t rev, struct err *e)
{
	pthread_rwlock_wrlock(&s->lock);
	if (rev > s->rev) {
		uint64_t cur = s->rev;
		pthread_rwlock_unlock(&s->lock);
		return err_set(e, STORE_E_FUTURE, "compact to revision %llu: newest is %llu",
		               (unsigned long long)rev, (unsigned long long)cur);
	}
	if (rev > s->compacted)
		s->compacted = rev;
	pthread_rwlock_unlock(&s->lock);
	/* The checkpoint persists the target and deletes what it covers. */
	return store_checkpoint(s, e);
}

int store_compact_auto(struct store *s, struct err *e)
{
	struct req q = { .kind = REQ_CHECKPOINT, .auto_compact = true };
	int rc = submit_wait(s, &q);
	if (rc < 0 && e)
		*e = q.err;
	return rc;
}

/* --- public: reads ------------------------------------------------------------------ */

uint64_t store_rev(struct store *s)
{
	pthread_rwlock_rdlock(&s->lock);
	uint64_t r = s->rev;
	pthread_rwlock_unlock(&s->lock);
	return r;
}

uint64_t store_compacted_rev(struct store *s)
{
	pthread_rwlock_rdlock(&s->lock);
	uint64_t r = s->compacted;
	pthread_rwlock_unlock(&s->lock);
	return r;
}

int store_snap_begin(struct store *s, uint64_t rev, struct store_snap **out, struct err *e)
{
	struct store_snap *sn = xcalloc(1, sizeof(*sn));
	int rc = 0;

	sn->s = s;
	pthread_rwlock_rdlock(&s->lock);
	if (rev && rev < s->compacted) {
		rc = err_set(e, STORE_E_COMPACTED,
		             "revision %llu has been compacted (oldest is %llu)",
		             (unsigned long long)rev, (unsigned long long)s->compacted);
	} else if (rev > s->rev) {
		rc = err_set(e, STORE_E_FUTURE, "revision %llu is newer than the store (%llu)",
		             (unsigned long long)rev, (unsigned long long)s->rev);
	} else {
		sn->rev = rev ? rev : s->rev;
		sn->gen = s->gen;
		mem_ref(sn->gen);
		for (int i = 0; i < ENV_MAX && rc == 0; i++) {
			if (!s->env[i].used)
				continue;
			int r = mdb_txn_begin(s->env[i].env, NULL, MDB_RDONLY, &sn->txn[i]);
			if (r)
				rc = mdb_err(e, r, "read store", s->dir);
		}
	}
	pthread_rwlock_unlock(&s->lock);
	if (rc < 0) {
		store_snap_end(sn);
		return rc;
	}
	*out = sn;
	return 0;
}

uint64_t store_snap_rev(const struct store_snap *sn)
{
	return sn->rev;
}

void store_snap_end(struct store_snap *sn)
{
	if (!sn)
		return;
	for (int i = 0; i < ENV_MAX; i++)
		if (sn->txn[i])
			mdb_txn_abort(sn->txn[i]);
	if (sn->gen)
		mem_unref(sn->gen);
	free(sn);
}

static void kv_from_rec(struct store_kv *kv, const struct rec *r)
{
	kv->key = r->key;
	kv->key_len = r->key_len;
	kv->val = r->val;
	kv->val_len = r->val_len;
	kv->create_rev = r->create_rev;
	kv->mod_rev = r->rev;
}

int store_snap_get(struct store_snap *sn, const char *key, struct store_kv *kv)
{
	struct store *s = sn->s;
	size_t len = strlen(key);
	struct rec *r;

	pthread_rwlock_rdlock(&s->lock);
	r = mem_at_rev(sn->gen, key, len, sn->rev);
	pthread_rwlock_unlock(&s->lock);
	if (r) {
		if (r->type == STORE_DELETE)
			return -ENOENT;
		kv_from_rec(kv, r);
		return 0;
	}
	if (len > STORE_MAX_KEY)
		return -ENOENT;
	int which = key_env(s, key);
	struct env *en = &s->env[which];
	struct dbver dv;
	struct dbrec d;
	int rc = db_version(en, sn->txn[which], key, len, sn->rev, &dv);
	if (rc < 0)
		return rc;
	if (!dv.found || dv.tomb)
		return -ENOENT;
	if ((rc = db_rec(en, sn->txn[which], dv.v, &d)) < 0)
		return rc == -ENOENT ? STORE_E_CORRUPT : rc;
	kv->key = key;
	kv->key_len = len;
	kv->val = d.val;
	kv->val_len = d.val_len;
	kv->create_rev = d.create_rev;
	kv->mod_rev = dv.v.rev;
	return 0;
}

/* A walk over one env's index at a revision: the newest live version of each key. */
struct dbit {
	const struct env *en;
	MDB_txn *t;
	MDB_cursor *c;
	uint64_t rev;
	const char *prefix;
	size_t plen;
	bool done;
	char key[STORE_MAX_KEY + 1];
	size_t klen;
	struct vptr v;
};

static void dbit_settle(struct dbit *it, MDB_val k, MDB_val v, int rc)
{
	uint8_t kb[STORE_MAX_KEY + 16];
	for (;;) {
		if (rc != 0 || k.mv_size < it->plen + 9 ||
		    memcmp(k.mv_data, it->prefix, it->plen)) {
			it->done = true;
			return;
		}
		const uint8_t *kp = k.mv_data;
		size_t klen = k.mv_size - 9;
		uint64_t r = ~get_be64(kp + klen + 1);
		if (r > it->rev) {
			/* Skip to this key's newest version at or before the snapshot. */
			memcpy(kb, kp, klen + 1);
			put_be64(kb + klen + 1, ~it->rev);
			k.mv_size = klen + 9;
			k.mv_data = kb;
			rc = mdb_cursor_get(it->c, &k, &v, MDB_SET_RANGE);
			continue;
		}
		const uint8_t *vb = v.mv_data;
		if (v.mv_size >= 3 && !(vb[2] & IDX_TOMBSTONE)) {
			memcpy(it->key, kp, klen);
			it->key[klen] = '\0';
			it->klen = klen;
			it->v = (struct vptr){ r, (uint16_t)((vb[0] << 8) | vb[1]) };
			return;
		}
		/* A deleted key: go past all its versions. */
		memcpy(kb, kp, klen);
		kb[klen] = 1;
		k.mv_size = klen + 1;
		k.mv_data = kb;
		rc = mdb_cursor_get(it->c, &k, &v, MDB_SET_RANGE);
	}
}

static void dbit_seek(struct dbit *it, const char *from)
{
	size_t n = strlen(from);
	MDB_val k = { n, (void *)from }, v;
	int rc = mdb_cursor_get(it->c, &k, &v, MDB_SET_RANGE);
	dbit_settle(it, k, v, rc);
}

static void dbit_next(struct dbit *it)
{
	uint8_t kb[STORE_MAX_KEY + 2];
	memcpy(kb, it->key, it->klen);
	kb[it->klen] = 1;
	MDB_val k = { it->klen + 1, kb }, v;
	int rc = mdb_cursor_get(it->c, &k, &v, MDB_SET_RANGE);
	dbit_settle(it, k, v, rc);
}

static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, MIN(an, bn));
	return c ? c : (an < bn ? -1 : an > bn);
}

static int mem_cand_cmp(const void *a, const void *b)
{
	const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
	int c = key_cmp(x->key, x->key_len, y->key, y->key_len);
	if (c)
		return c;
	return x->rev > y->rev ? -1 : x->rev < y->rev; /* newest first */
}

/*
 * The merged walk behind range and count: memtable versions win over LMDB ones.
 * emit(kvs) gets each live key in order; returning 1 from it stops with *more unknown.
 */
static int snap_walk(struct store_snap *sn, const char *prefix, const char *start, size_t limit,
                     bool want_values, store_kv_fn fn, void *arg, bool *more, size_t *count)
{
	struct store *s = sn->s;
	const char *from = (start && strcmp(start, prefix) > 0) ? start : prefix;
	size_t plen = strlen(prefix), flen = strlen(from);
	struct rec **m = NULL;
	size_t nm = 0, cap = 0, mi = 0, emitted = 0;
	struct dbit it[ENV_MAX] = { { 0 } };
	int rc = 0;

	if (more)
		*more = false;
	/* Memtable candidates, newest version per key at the snapshot. */
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < sn->gen->count; i++) {
		struct rec *r = mem_at(sn->gen, i);
		if (r->rev > sn->rev)
			break;
		if (r->key_len < plen || memcmp(r->key, prefix, plen) ||
		    key_cmp(r->key, r->key_len, from, flen) < 0)
			continue;
		if (nm == cap) {
			cap = cap ? cap * 2 : 32;
			m = xrealloc(m, cap * sizeof(*m));
		}
		m[nm++] = r;
	}
	pthread_rwlock_unlock(&s->lock);
	if (nm)
		qsort(m, nm, sizeof(*m), mem_cand_cmp);
	size_t w = 0;
	for (size_t i = 0; i < nm; i++)
		if (w == 0 || key_cmp(m[w - 1]->key, m[w - 1]->key_len, m[i]->key, m[i]->key_len))
			m[w++] = m[i];
	nm = w;

	for (int i = 0; i < ENV_MAX; i++) {
		it[i].done = true;
		if (!s->env[i].used)
			continue;
		it[i] = (struct dbit){ .en = &s->env[i],
			               .t = sn->txn[i],
			               .rev = sn->rev,
			               .prefix = prefix,
			               .plen = plen };
		if (mdb_cursor_open(sn->txn[i], s->env[i].idx, &it[i].c) != 0) {
			it[i].done = true;
			rc = STORE_E_CORRUPT;
			goto out;
		}
		dbit_seek(&it[i], from);
	}
	for (;;) {
		/* Smallest key among the three heads. */
		const char *best = NULL;
		size_t blen = 0;
		int src = -1; /* 0..ENV_MAX-1: db, ENV_MAX: mem */
		for (int i = 0; i < ENV_MAX; i++) {
			if (it[i].done)
				continue;
			if (!best || key_cmp(it[i].key, it[i].klen, best, blen) < 0) {
				best = it[i].key;
				blen = it[i].klen;
				src = i;
			}
		}
		if (mi < nm && (!best || key_cmp(m[mi]->key, m[mi]->key_len, best, blen) <= 0)) {
			struct rec *r = m[mi++];
			/* The memtable's version replaces LMDB's for the same key. */
			for (int i = 0; i < ENV_MAX; i++)
				if (!it[i].done &&
				    !key_cmp(it[i].key, it[i].klen, r->key, r->key_len))
					dbit_next(&it[i]);
			if (r->type == STORE_DELETE)
				continue;
			if (limit && emitted == limit) {
				if (more)
					*more = true;
				break;
			}
			emitted++;
			if (fn) {
				struct store_kv kv;
				kv_from_rec(&kv, r);
				if ((rc = fn(arg, &kv)) != 0)
					break;
			}
			continue;
		}
		if (src < 0)
			break;
		if (limit && emitted == limit) {
			if (more)
				*more = true;
			break;
		}
		emitted++;
		if (fn) {
			struct store_kv kv = { .key = it[src].key,
				               .key_len = it[src].klen,
				               .mod_rev = it[src].v.rev };
			if (want_values) {
				struct dbrec d;
				if ((rc = db_rec(it[src].en, it[src].t, it[src].v, &d)) < 0) {
					rc = STORE_E_CORRUPT;
					break;
				}
				kv.val = d.val;
				kv.val_len = d.val_len;
				kv.create_rev = d.create_rev;
			}
			if ((rc = fn(arg, &kv)) != 0)
				break;
		}
		dbit_next(&it[src]);
	}
out:
	for (int i = 0; i < ENV_MAX; i++)
		if (it[i].c)
			mdb_cursor_close(it[i].c);
	free(m);
	if (count)
		*count = emitted;
	return rc;
}

int store_snap_range(struct store_snap *sn, const char *prefix, const char *start, size_t limit,
                     store_kv_fn fn, void *arg, bool *more)
{
	return snap_walk(sn, prefix, start, limit, true, fn, arg, more, NULL);
}

int store_snap_count(struct store_snap *sn, const char *prefix, size_t *count)
{
	return snap_walk(sn, prefix, NULL, 0, false, NULL, NULL, NULL, count);
}

int store_get(struct store *s, const char *key, char **val, size_t *val_len, uint64_t *mod_rev,
              uint64_t *create_rev, struct err *e)
{
	struct store_snap *sn;
	struct store_kv kv;
	int rc = store_snap_begin(s, 0, &sn, e);
	if (rc < 0)
		return rc;
	rc = store_snap_get(sn, key, &kv);
	if (rc == 0) {
		if (val)
			*val = xstrndup(kv.val ? kv.val : "", kv.val_len);
		if (val_len)
			*val_len = kv.val_len;
		if (mod_rev)
			*mod_rev = kv.mod_rev;
		if (create_rev)
			*create_rev = kv.create_rev;
	} else if (rc == -ENOENT) {
		err_set(e, rc, "get %s: not found", key);
	} else {
		err_set(e, rc, "get %s: damaged record", key);
	}
	store_snap_end(sn);
	return rc;
}

/* --- watch ------------------------------------------------------------------------ */

int store_watch(struct store *s, const char *prefix, uint64_t after, void (*notify)(void *arg),
                void *arg, struct store_watch **out, struct err *e)
{
	struct store_watch *w = xcalloc(1, sizeof(*w));
	bool behind;

	w->s = s;
	w->prefix = xstrdup(prefix);
	w->prefix_len = strlen(prefix);
	w->notify = notify;
	w->arg = arg;
	pthread_rwlock_rdlock(&s->lock);
	if ((after && after < s->compacted) || after > s->rev) {
		uint64_t c = s->compacted, r = s->rev;
		pthread_rwlock_unlock(&s->lock);
		free(w->prefix);
		free(w);
		if (after > r)
			return err_set(e, STORE_E_FUTURE,
			               "watch from revision %llu: newest is %llu",
			               (unsigned long long)after, (unsigned long long)r);
		return err_set(e, STORE_E_COMPACTED,
		               "watch from revision %llu: compacted (oldest is %llu)",
		               (unsigned long long)after, (unsigned long long)c);
	}
	/* Link under wlock while holding the read lock: no batch can publish between
	 * reading the revision and joining the list, so none is missed. */
	pthread_mutex_lock(&s->wlock);
	w->cursor = (struct vptr){ after ? after : s->rev, SUB_ALL };
	behind = w->cursor.rev < s->rev;
	w->armed = !behind;
	w->next = s->watchers;
	if (s->watchers)
		s->watchers->prev_w = w;
	s->watchers = w;
	pthread_mutex_unlock(&s->wlock);
	pthread_rwlock_unlock(&s->lock);
	if (behind && notify)
		notify(arg);
	*out = w;
	return 0;
}

uint64_t store_watch_rev(const struct store_watch *w)
{
	pthread_mutex_lock(&w->s->wlock);
	uint64_t r = w->cursor.rev;
	pthread_mutex_unlock(&w->s->wlock);
	return r;
}

void store_watch_close(struct store_watch *w)
{
	if (!w)
		return;
	struct store *s = w->s;
	pthread_mutex_lock(&s->wlock);
	if (w->prev_w)
		w->prev_w->next = w->next;
	else
		s->watchers = w->next;
	if (w->next)
		w->next->prev_w = w->prev_w;
	pthread_mutex_unlock(&s->wlock);
	free(w->prefix);
	free(w);
}

/* Looks up a version's value for an event: memtable first, then LMDB. */
static bool version_value(struct store *s, MDB_txn **txn, const struct rec *mem, struct vptr p,
                          const char *key, const char **val, size_t *len)
{
	if (mem) {
		if (mem->type != STORE_PUT)
			return false;
		*val = mem->val;
		*len = mem->val_len;
		return true;
	}
	if (!p.rev)
		return false;
	int which = key_env(s, key);
	struct dbrec d;
	if (!txn[which])
		return false;
	if (db_rec(&s->env[which], txn[which], p, &d) < 0 || d.type != STORE_PUT)
		return false;
	*val = d.val;
	*len = d.val_len;
	return true;
}

static size_t gen_lower_bound(const struct memgen *g, struct vptr after)
{
	size_t lo = 0, hi = g->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct rec *r = mem_at(g, mid);
		if (vcmp((struct vptr){ r->rev, r->sub }, after) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int store_watch_poll(struct store_watch *w, size_t max, store_event_fn fn, void *arg)
{
	struct store *s = w->s;
	MDB_txn *txn[ENV_MAX] = { NULL };
	struct memgen *g;
	struct vptr cur;
	uint64_t visible, base;
	size_t delivered = 0;
	int rc = 0;

	if (max == 0)
		max = SIZE_MAX;
	pthread_mutex_lock(&s->wlock);
	cur = w->cursor;
	pthread_mutex_unlock(&s->wlock);

	pthread_rwlock_rdlock(&s->lock);
	if (cur.rev < s->compacted && cur.rev < s->rev) {
		pthread_rwlock_unlock(&s->lock);
		return STORE_E_COMPACTED;
	}
	g = s->gen;
	mem_ref(g);
	visible = s->rev;
	base = g->base_rev;
	/* Open LMDB reads now, paired with the memtable: a later compaction must not
	 * take away the previous versions that events carry. */
	for (int i = 0; i < ENV_MAX; i++)
		if (s->env[i].used && mdb_txn_begin(s->env[i].env, NULL, MDB_RDONLY, &txn[i]))
			rc = STORE_E_CORRUPT;
	pthread_rwlock_unlock(&s->lock);
	if (rc < 0)
		goto out;

	/* History in LMDB: merge the envs' revision logs up to the memtable's base. */
	if (cur.rev < base) {
		MDB_cursor *c[ENV_MAX] = { NULL };
		MDB_val k[ENV_MAX], v[ENV_MAX];
		int grc[ENV_MAX];
		uint8_t kb[10];
		for (int i = 0; i < ENV_MAX; i++) {
			grc[i] = MDB_NOTFOUND;
			if (!txn[i])
				continue;
			mdb_cursor_open(txn[i], s->env[i].rev, &c[i]);
			if (cur.sub == SUB_ALL)
				rev_key(kb, cur.rev + 1, 0);
			else
				rev_key(kb, cur.rev, (uint16_t)(cur.sub + 1));
			k[i] = (MDB_val){ 10, kb };
			grc[i] = mdb_cursor_get(c[i], &k[i], &v[i], MDB_SET_RANGE);
		}
		/* Compaction may have removed records between our cursor and here. */
		uint64_t done_c = 0;
		if (txn[ENV_MAIN])
			meta_u64(txn[ENV_MAIN], s->env[ENV_MAIN].meta, "compact", &done_c);
		if (done_c > cur.rev) {
			for (int i = 0; i < ENV_MAX; i++)
				if (c[i])
					mdb_cursor_close(c[i]);
			rc = STORE_E_COMPACTED;
			goto out;
		}
		while (delivered < max && rc == 0) {
			int pick = -1;
			for (int i = 0; i < ENV_MAX; i++) {
				if (grc[i] != 0 || k[i].mv_size != 10)
					continue;
				if (pick < 0 || memcmp(k[i].mv_data, k[pick].mv_data, 10) < 0)
					pick = i;
			}
			if (pick < 0)
				break;
			const uint8_t *kp = k[pick].mv_data;
			struct vptr at = { get_be64(kp), (uint16_t)((kp[8] << 8) | kp[9]) };
			if (at.rev > base)
				break;
			struct dbrec d;
			if (dbrec_decode(&v[pick], &d) == 0 && d.key_len >= w->prefix_len &&
			    !memcmp(d.key, w->prefix, w->prefix_len)) {
				char key[STORE_MAX_KEY + 1];
				memcpy(key, d.key, d.key_len);
				key[d.key_len] = '\0';
				struct store_event ev = { .type = d.type,
					                  .rev = at.rev,
					                  .key = key,
					                  .key_len = d.key_len,
					                  .create_rev = d.create_rev,
					                  .prev_mod_rev = d.prev.rev };
				const char *pv;
				size_t pl;
				if (version_value(s, txn, NULL, d.prev, key, &pv, &pl)) {
					ev.prev_val = pv;
					ev.prev_val_len = pl;
				}
				if (d.type == STORE_PUT) {
					ev.val = d.val;
					ev.val_len = d.val_len;
				} else {
					ev.val = ev.prev_val;
					ev.val_len = ev.prev_val_len;
				}
				rc = fn(arg, &ev);
				delivered++;
			}
			cur = at;
			grc[pick] = mdb_cursor_get(c[pick], &k[pick], &v[pick], MDB_NEXT);
		}
		for (int i = 0; i < ENV_MAX; i++)
			if (c[i])
				mdb_cursor_close(c[i]);
		if (delivered < max && rc == 0)
			cur = (struct vptr){ base, SUB_ALL };
	}

	/* Recent history in the memtable: copy pointers under the lock, deliver outside it. */
	while (delivered < max && rc == 0 && cur.rev < visible) {
		struct rec *batch[64];
		size_t nb = 0;
		pthread_rwlock_rdlock(&s->lock);
		for (size_t i = gen_lower_bound(g, cur); i < g->count && nb < ARRAY_SIZE(batch);
		     i++) {
			struct rec *r = mem_at(g, i);
			if (r->rev > visible)
				break;
			batch[nb++] = r;
		}
		pthread_rwlock_unlock(&s->lock);
		if (!nb) {
			cur = (struct vptr){ visible, SUB_ALL };
			break;
		}
		for (size_t i = 0; i < nb && delivered < max && rc == 0; i++) {
			struct rec *r = batch[i];
			cur = (struct vptr){ r->rev, r->sub };
			if (r->key_len < w->prefix_len || memcmp(r->key, w->prefix, w->prefix_len))
				continue;
			struct store_event ev = { .type = r->type,
				                  .rev = r->rev,
				                  .key = r->key,
				                  .key_len = r->key_len,
				                  .create_rev = r->create_rev,
				                  .prev_mod_rev = r->prev.rev };
			const char *pv;
			size_t pl;
			if (version_value(s, txn, r->prev_mem, r->prev, r->key, &pv, &pl)) {
				ev.prev_val = pv;
				ev.prev_val_len = pl;
			}
			if (r->type == STORE_PUT) {
				ev.val = r->val;
				ev.val_len = r->val_len;
			} else {
				ev.val = ev.prev_val;
				ev.val_len = ev.prev_val_len;
			}
			rc = fn(arg, &ev);
			delivered++;
		}
		if (nb < ARRAY_SIZE(batch) && delivered < max && rc == 0 &&
		    cur.rev == batch[nb - 1]->rev && cur.sub == batch[nb - 1]->sub)
			cur = (struct vptr){ visible, SUB_ALL };
	}

out:
	for (int i = 0; i < ENV_MAX; i++)
		if (txn[i])
			mdb_txn_abort(txn[i]);
	mem_unref(g);
	bool renotify = false;
	/* Lock order everywhere: s->lock, then s->wlock. */
	pthread_rwlock_rdlock(&s->lock);
	pthread_mutex_lock(&s->wlock);
	if (rc >= 0)
		w->cursor = cur;
	if (rc >= 0 && delivered == 0) {
		/* Caught up as of `visible`; if more was published meanwhile, poll again. */
		if (s->rev > cur.rev)
			renotify = true;
		else
			w->armed = true;
	}
	pthread_mutex_unlock(&s->wlock);
	pthread_rwlock_unlock(&s->lock);
	if (renotify && w->notify)
		w->notify(w->arg);
	return rc < 0 ? rc : (int)delivered;
}

/* --- close and stats -------------------------------------------------------------- */

void store_get_stats(struct store *s, struct store_stats *st)
{
	pthread_rwlock_rdlock(&s->lock);
	*st = s->stats;
	st->rev = s->rev;
	st->compacted_rev = s->compacted;
	st->checkpoint_rev = s->gen->base_rev;
	st->pending_records = s->gen->count;
	st->pending_bytes = s->gen->bytes;
	MDB_envinfo info;
	MDB_stat mst;
	if (s->env[ENV_MAIN].env && mdb_env_info(s->env[ENV_MAIN].env, &info) == 0 &&
	    mdb_env_stat(s->env[ENV_MAIN].env, &mst) == 0)
		st->db_bytes = (info.me_last_pgno + 1) * (size_t)mst.ms_psize;
	pthread_rwlock_unlock(&s->lock);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->qlock);
		s->stopping = true;
		pthread_cond_signal(&s->qcv);
		pthread_mutex_unlock(&s->qlock);
		pthread_join(s->thread, NULL);
	}
	for (int i = 0; i < ENV_MAX; i++) {
		if (s->rtxn[i])
			mdb_txn_abort(s->rtxn[i]);
		wal_close(&s->env[i].wal);
		if (s->env[i].env)
			mdb_env_close(s->env[i].env);
		buf_free(&s->walbuf[i]);
	}
	buf_free(&s->scratch);
	mem_unref(s->gen);
	for (size_t i = 0; i < s->nvprefixes; i++)
		free(s->vprefixes[i]);
	free(s->vprefixes);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->qlock);
	pthread_mutex_destroy(&s->wlock);
	pthread_cond_destroy(&s->qcv);
	pthread_cond_destroy(&s->donecv);
	free(s->dir);
	free(s->vdir);
	free(s);
}
