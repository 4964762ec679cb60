/* store: an MVCC key-value store with etcd's semantics, over LMDB and a write-ahead log.
 *
 * One revision counter for the whole store. Every transaction that writes takes
 * the next revision; each key remembers the revision that created it and the one
 * that last changed it. Reads see a consistent snapshot at one revision; watches
 * replay history from a revision, then follow live writes, in order.
 *
 * Writes are durable (fdatasync of the write-ahead log) before they are
 * acknowledged or visible; concurrent writers share one sync (group commit).
 * The log is folded into the LMDB file in the background (a checkpoint), so a
 * key that changes often costs one small log append per change, not a B-tree
 * rewrite. Keys under "volatile" prefixes (leases, events) can live in a second
 * environment on tmpfs so that heartbeats never touch flash.
 *
 * Thread safety: every function may be called from any thread, except that a
 * snapshot or a watch is used by one thread at a time.
 */
#ifndef TUG_STORE_H
#define TUG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/util.h"

/* Error codes beyond the obvious errno ones (-ENOENT, -EEXIST, -E2BIG, -ENOSPC, -EROFS, -EIO). */
#define STORE_E_STALE (-ESTALE)      /* expected mod revision does not match */
#define STORE_E_COMPACTED (-ENODATA) /* requested revision is older than the compacted one */
#define STORE_E_FUTURE (-ERANGE)     /* requested revision is newer than the current one */
#define STORE_E_CORRUPT (-EBADMSG)   /* a database or log file is damaged or not ours */

#define STORE_MAX_KEY 480

struct store;

struct store_opts {
	const char *dir;                      /* created if missing */
	const char *volatile_dir;             /* NULL or "": no volatile environment */
	const char *const *volatile_prefixes; /* NULL-terminated; keys that live there */
	size_t max_value;                     /* 0: 1.5 MiB */
	size_t map_size;                      /* LMDB map size; 0: 1 GiB (256 MiB on 32-bit) */
	uint64_t checkpoint_ms;               /* 0: 5000 */
	size_t checkpoint_bytes;              /* fold the log once it holds this much; 0: 4 MiB */
	uint64_t retention_ms;                /* compact history older than this; 0: 5 min */
	uint64_t retention_revisions;         /* ... and beyond this many revisions; 0: 10000 */
	bool no_background;                   /* tests: no timer-driven checkpoints or compaction */
};

struct store_kv {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
	uint64_t create_rev;
	uint64_t mod_rev;
};

/* Opens (creating if needed) the store in o->dir. Recovers the log after a crash. */
int store_open(struct store **out, const struct store_opts *o, struct err *e);
/* Folds the log into the database and closes. Snapshots and watches must be gone. */
void store_close(struct store *s);

/* The newest durable revision, and the compacted one: reads at it still work, reads
 * before it and watches that start before it get STORE_E_COMPACTED. */
uint64_t store_rev(struct store *s);
uint64_t store_compacted_rev(struct store *s);

/* --- reads ------------------------------------------------------------------ */

/* A consistent view at one revision. Pointers in kvs it returns stay valid until store_snap_end. */
struct store_snap;

/* rev 0: the newest. STORE_E_COMPACTED if rev was compacted away, STORE_E_FUTURE if not yet written. */
int store_snap_begin(struct store *s, uint64_t rev, struct store_snap **out, struct err *e);
uint64_t store_snap_rev(const struct store_snap *sn);
void store_snap_end(struct store_snap *sn);
/* 0 and *kv filled, or -ENOENT. */
int store_snap_get(struct store_snap *sn, const char *key, struct store_kv *kv);

typedef int (*store_kv_fn)(void *arg, const struct store_kv *kv);
/*
 * Calls fn for each key that starts with prefix and is >= start (NULL: from the
 * beginning), in key order, at most limit times (0: no limit). *more tells
 * whether keys remain; the next page starts after the last key returned. fn
 * returning non-zero stops the walk and that value is returned.
 */
int store_snap_range(struct store_snap *sn, const char *prefix, const char *start, size_t limit,
                     store_kv_fn fn, void *arg, bool *more);
/* Number of keys under prefix at the snapshot's revision. */
int store_snap_count(struct store_snap *sn, const char *prefix, size_t *count);

/* Convenience: one get at the newest revision, copying the value (caller frees *val). */
int store_get(struct store *s, const char *key, char **val, size_t *val_len, uint64_t *mod_rev,
              uint64_t *create_rev, struct err *e);

/* --- writes ----------------------------------------------------------------- */

enum store_op_type { STORE_PUT, STORE_DELETE };

/* Expected state for a guarded write. */
#define STORE_ANY ((int64_t)-1)   /* unguarded */
#define STORE_ABSENT ((int64_t)0) /* key must not exist (create) */

struct store_op {
	enum store_op_type type;
	const char *key;
	const void *val; /* PUT only */
	size_t val_len;
	int64_t expect_rev; /* STORE_ANY, STORE_ABSENT or the mod revision the key must have */
};

struct store_result {
	uint64_t rev;     /* the transaction's revision */
	size_t failed_op; /* on a failed guard: which op */
	uint64_t cur_rev; /* on a failed guard: that key's mod revision now (0: absent) */
};

/*
 * Applies ops atomically at one new revision once every guard holds; blocks
 * until durable. A key may appear once per transaction, and all keys must live
 * in the same environment. Errors: -EEXIST (create of an existing key),
 * -ENOENT (guarded update/delete of a missing key, or unguarded delete of one),
 * STORE_E_STALE, -E2BIG, -EINVAL, -ENOSPC/-EROFS/-EIO (nothing was written).
 */
int store_txn(struct store *s, const struct store_op *ops, size_t n, struct store_result *res,
              struct err *e);

/* Completion of an asynchronous transaction, called on the store's writer thread. */
typedef void (*store_done_fn)(void *arg, int rc, const struct store_result *res,
                              const struct err *e);
/* Like store_txn but returns at once; ops are copied. done runs on the writer thread. */
void store_txn_async(struct store *s, const struct store_op *ops, size_t n, store_done_fn done,
                     void *arg);

/* One-op shorthands. rev receives the new revision. */
int store_create(struct store *s, const char *key, const void *val, size_t len, uint64_t *rev,
                 struct err *e);
int store_update(struct store *s, const char *key, const void *val, size_t len, int64_t expect_rev,
                 uint64_t *rev, struct err *e);
int store_put(struct store *s, const char *key, const void *val, size_t len, uint64_t *rev,
              struct err *e);
int store_delete(struct store *s, const char *key, int64_t expect_rev, uint64_t *rev,
                 struct err *e);

/* --- watch ------------------------------------------------------------------ */

struct store_event {
	enum store_op_type type;
	uint64_t rev;
	const char *key;
	size_t key_len;
	const char *val; /* PUT: the new value; DELETE: the value it had */
	size_t val_len;
	uint64_t create_rev;
	const char *prev_val; /* the value before this change; NULL on create */
	size_t prev_val_len;
	uint64_t prev_mod_rev;
};

struct store_watch;

/*
 * Watches keys under prefix for changes after revision `after` (0: from now).
 * notify(arg) is called from any thread when events may be waiting and the
 * watcher had drained everything before; it must be quick (write an eventfd,
 * loop_post). STORE_E_COMPACTED if `after` is older than the compacted revision.
 */
int store_watch(struct store *s, const char *prefix, uint64_t after, void (*notify)(void *arg),
                void *arg, struct store_watch **out, struct err *e);
/*
 * Calls fn for up to max waiting events in revision order (pointers valid during
 * the call). Returns the number delivered, or STORE_E_COMPACTED if the watcher fell
 * behind compaction (it must start over from a fresh list). Once it returns 0,
 * notify is armed again.
 */
typedef int (*store_event_fn)(void *arg, const struct store_event *ev);
int store_watch_poll(struct store_watch *w, size_t max, store_event_fn fn, void *arg);
/* The revision the watcher has delivered up to. */
uint64_t store_watch_rev(const struct store_watch *w);
void store_watch_close(struct store_watch *w);

/* --- maintenance ------------------------------------------------------------ */

/* Folds the log into LMDB now (normally a background job). */
int store_checkpoint(struct store *s, struct err *e);
/* Forgets history before rev: rev stays readable, older revisions do not. */
int store_compact(struct store *s, uint64_t rev, struct err *e);
/* Runs the age/count compaction policy once (normally a background job). */
int store_compact_auto(struct store *s, struct err *e);

struct store_stats {
	uint64_t rev, compacted_rev, checkpoint_rev;
	uint64_t txns, batches, syncs, checkpoints;
	size_t pending_records, pending_bytes; /* in the log, not yet folded */
	size_t db_bytes;                       /* LMDB file size in use */
};
void store_get_stats(struct store *s, struct store_stats *st);

#endif
