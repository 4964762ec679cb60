/* store internals shared by its files: records, the in-memory log (memtable), the
 * write-ahead log and the LMDB layout. */
#ifndef TUG_STORE_INTERNAL_H
#define TUG_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>

#include "core/store/store.h"

enum { ENV_MAIN = 0, ENV_VOLATILE = 1, ENV_MAX = 2 };

/* A version pointer: the revision of a transaction and the op's index in it. */
struct vptr {
	uint64_t rev;
	uint16_t sub;
};

/*
 * One op of a committed transaction. Immutable once published; owned by the
 * memtable generation it was published in.
 */
struct rec {
	uint64_t rev;
	uint16_t sub;
	uint8_t type; /* STORE_PUT or STORE_DELETE */
	uint8_t env;
	uint64_t create_rev;  /* of the incarnation this op wrote (or deleted) */
	struct vptr prev;     /* previous version of the key; rev 0 if none */
	struct rec *prev_mem; /* the same, when it is in this generation */
	uint32_t key_len, val_len;
	char *key; /* NUL-terminated */
	char *val; /* PUT: the value; DELETE: NULL */
};

/*
 * The records written since the last checkpoint, in revision order, with a hash
 * from key to its newest record. Readers hold a reference while they use it;
 * a checkpoint replaces it with an empty one.
 */
#define MEM_CHUNK 256
struct memgen {
	int refs;             /* atomic */
	uint64_t base_rev;    /* everything up to here is in LMDB */
	struct rec ***chunks; /* each chunk holds MEM_CHUNK record pointers */
	size_t nchunks, count;
	struct rec **slots; /* open addressing, key -> newest rec */
	size_t nslots, used;
	size_t bytes;
};

struct memgen *mem_new(uint64_t base_rev);
void mem_ref(struct memgen *g);
void mem_unref(struct memgen *g);
struct rec *mem_at(const struct memgen *g, size_t i);
/* Appends r (taking ownership) and makes it the key's newest record. */
void mem_append(struct memgen *g, struct rec *r);
struct rec *mem_latest(const struct memgen *g, const char *key, size_t key_len);
/* The key's newest record at or before rev; NULL when the memtable has none. */
struct rec *mem_at_rev(const struct memgen *g, const char *key, size_t key_len, uint64_t rev);
void rec_free(struct rec *r);

/* --- write-ahead log ------------------------------------------------------- */

struct wal {
	int fd;
	char *path;
	uint32_t epoch;
	uint64_t seq; /* last written */
	uint64_t off; /* where the next record goes */
	bool sync;    /* fdatasync after writes (false on tmpfs) */
};

#define WAL_F_RESERVE 1u /* revision reservation, no ops */

/* Called for each valid record found by wal_replay. */
struct wal_rec_op {
	uint8_t type;
	uint16_t key_len;
	uint32_t val_len;
	uint64_t create_rev;
	struct vptr prev;
	const char *key, *val;
};
typedef int (*wal_replay_fn)(void *arg, uint64_t rev, uint64_t time_ms, uint32_t flags,
                             const struct wal_rec_op *ops, uint32_t nops);

int wal_open(struct wal *w, const char *path, uint32_t epoch, bool sync, wal_replay_fn fn,
             void *arg, struct err *e);
void wal_close(struct wal *w);
/* Encodes one transaction record into b. */
void wal_encode(struct buf *b, uint32_t epoch, uint64_t seq, uint64_t batch, uint64_t rev,
                uint64_t time_ms, uint32_t flags, struct rec *const *recs, size_t n);
/* Writes b at the tail and (if w->sync) makes it durable. On failure the tail is
 * cut back so nothing of b can be replayed. */
int wal_write(struct wal *w, const struct buf *b, uint64_t nrecs, struct err *e);
/* Starts a new epoch at offset 0 after a checkpoint made the old records redundant. */
void wal_reset(struct wal *w, uint32_t epoch);

/* --- LMDB layout ------------------------------------------------------------
 * rev:  be64 rev | be16 sub  ->  record (type, key, create rev, prev version, value)
 * idx:  key | 0x00 | be64 ~rev  ->  be16 sub | u8 flags (1: tombstone)
 * meta: "format", "ckpt", "epoch", "compact", "reserve", "t"|be64 rev -> time
 */
struct env {
	MDB_env *env;
	MDB_dbi rev, idx, meta;
	bool used;
	uint64_t ckpt_rev;
	struct wal wal;
};

#define IDX_TOMBSTONE 1u

void put_be64(uint8_t *p, uint64_t v);
uint64_t get_be64(const uint8_t *p);
size_t idx_key(uint8_t *out, const char *key, size_t key_len, uint64_t rev);
/* Decoded rev-DBI record; pointers into LMDB memory. */
struct dbrec {
	uint8_t type;
	uint64_t create_rev;
	struct vptr prev;
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
};
int dbrec_decode(const MDB_val *v, struct dbrec *out);
void dbrec_encode(struct buf *b, const struct rec *r);

#endif
