/* wal: the write-ahead log. One record per transaction, checksummed, written at the tail
 * and synced before the transaction is acknowledged. After a checkpoint the file is
 * overwritten from the start under a new epoch, so it keeps its blocks and a sync
 * writes only data, never allocation metadata: kind to flash. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define LOG_TAG "store"
#include "core/log/log.h"
#include "core/store/store-internal.h"

#define WAL_MAGIC 0x4c415754u /* "TWAL" */
#define WAL_MAX_REC (64u << 20)

/*
 * Record layout, little-endian, 8-byte aligned:
 *   u32 magic, u32 len (payload), u32 crc (of everything after it), u32 epoch,
 *   u64 seq (1, 2, ... within an epoch), u64 rev, u64 time_ms, u32 nops, u32 flags,
 *   u64 batch (seq of the first record written in the same write),
 *   payload: per op u8 type, u8 0, u16 key_len, u32 val_len, u64 create_rev,
 *            u64 prev_rev, u16 prev_sub, u16 0, u32 0, key, value, pad to 8.
 */
#define HDR_SIZE 56u
#define OP_HDR 32u

static size_t pad8(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

static void le32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void le64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}
static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

void wal_encode(struct buf *b, uint32_t epoch, uint64_t seq, uint64_t batch, uint64_t rev,
                uint64_t time_ms, uint32_t flags, struct rec *const *recs, size_t n)
{
	size_t start = b->len, payload = 0;
	for (size_t i = 0; i < n; i++)
		payload += pad8(OP_HDR + recs[i]->key_len + recs[i]->val_len);
	buf_reserve(b, HDR_SIZE + payload);
	uint8_t *h = (uint8_t *)b->data + start;
	memset(h, 0, HDR_SIZE + payload);
	le32(h, WAL_MAGIC);
	le32(h + 4, (uint32_t)payload);
	le32(h + 12, epoch);
	le64(h + 16, seq);
	le64(h + 24, rev);
	le64(h + 32, time_ms);
	le32(h + 40, (uint32_t)n);
	le32(h + 44, flags);
	le64(h + 48, batch);
	uint8_t *p = h + HDR_SIZE;
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = recs[i];
		p[0] = r->type;
		uint16_t kl = (uint16_t)r->key_len;
		memcpy(p + 2, &kl, 2);
		le32(p + 4, r->val_len);
		le64(p + 8, r->create_rev);
		le64(p + 16, r->prev.rev);
		memcpy(p + 24, &r->prev.sub, 2);
		memcpy(p + OP_HDR, r->key, r->key_len);
		if (r->val_len)
			memcpy(p + OP_HDR + r->key_len, r->val, r->val_len);
		p += pad8(OP_HDR + r->key_len + r->val_len);
	}
	le32(h + 8, crc32c(0, h + 12, HDR_SIZE - 12 + payload));
	b->len = start + HDR_SIZE + payload;
	b->data[b->len] = '\0';
}

/* Checks the record at p (avail bytes); returns its total size or 0 if invalid. */
static size_t rec_check(const uint8_t *p, size_t avail, uint32_t epoch, uint64_t seq)
{
	if (avail < HDR_SIZE || rd32(p) != WAL_MAGIC || rd32(p + 12) != epoch)
		return 0;
	if (seq && rd64(p + 16) != seq)
		return 0;
	uint32_t len = rd32(p + 4);
	if (len > WAL_MAX_REC || len % 8 || HDR_SIZE + (size_t)len > avail)
		return 0;
	if (crc32c(0, p + 12, HDR_SIZE - 12 + len) != rd32(p + 8))
		return 0;
	return HDR_SIZE + len;
}

static int rec_decode(const uint8_t *p, wal_replay_fn fn, void *arg)
{
	uint32_t len = rd32(p + 4), nops = rd32(p + 40);
	const uint8_t *q = p + HDR_SIZE, *end = q + len;
	struct wal_rec_op ops_small[8], *ops = ops_small;
	int rc;

	if (nops > len / OP_HDR)
		return STORE_E_CORRUPT;
	if (nops > ARRAY_SIZE(ops_small))
		ops = xcalloc(nops, sizeof(*ops));
	for (uint32_t i = 0; i < nops; i++) {
		if ((size_t)(end - q) < OP_HDR)
			goto bad;
		struct wal_rec_op *o = &ops[i];
		o->type = q[0];
		o->key_len = rd16(q + 2);
		o->val_len = rd32(q + 4);
		o->create_rev = rd64(q + 8);
		o->prev.rev = rd64(q + 16);
		o->prev.sub = rd16(q + 24);
		size_t sz = pad8(OP_HDR + (size_t)o->key_len + o->val_len);
		if ((size_t)(end - q) < sz || (o->type != STORE_PUT && o->type != STORE_DELETE))
			goto bad;
		o->key = (const char *)q + OP_HDR;
		o->val = (const char *)q + OP_HDR + o->key_len;
		q += sz;
	}
	rc = fn(arg, rd64(p + 24), rd64(p + 32), rd32(p + 44), ops, nops);
	if (ops != ops_small)
		free(ops);
	return rc;
bad:
	if (ops != ops_small)
		free(ops);
	return STORE_E_CORRUPT;
}

int wal_open(struct wal *w, const char *path, uint32_t epoch, bool sync, wal_replay_fn fn,
             void *arg, struct err *e)
{
	struct stat st;
	int rc = 0;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->path = xstrdup(path);
	w->epoch = epoch;
	w->sync = sync;
	w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (w->fd < 0)
		return err_set(e, -errno, "open write-ahead log %s: %s", path, strerror(errno));
	if (fstat(w->fd, &st) < 0)
		return err_set(e, -errno, "stat %s: %s", path, strerror(errno));
	size_t size = (size_t)st.st_size;
	if (size == 0)
		return 0;
	uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, w->fd, 0);
	if (map == MAP_FAILED)
		return err_set(e, -errno, "map write-ahead log %s: %s", path, strerror(errno));

	size_t off = 0, n;
	while ((n = rec_check(map + off, size - off, epoch, w->seq + 1)) > 0) {
		rc = rec_decode(map + off, fn, arg);
		if (rc < 0) {
			err_set(e, rc, "write-ahead log %s: record %llu at offset %zu is invalid",
			        path, (unsigned long long)(w->seq + 1), off);
			goto out;
		}
		w->seq++;
		off += n;
	}
	/*
	 * The log ends at the first record that is not whole. A crash tears only the
	 * last write, whose records were never acknowledged; but if a later valid
	 * record of this epoch from a later write follows, the damage is in the
	 * middle and dropping the rest would lose acknowledged writes: refuse instead.
	 * (Records of the torn write itself may survive out of order on power loss;
	 * their batch field gives them away.)
	 */
	for (size_t p = off + 8; p + HDR_SIZE <= size; p += 8) {
		if (rd32(map + p) == WAL_MAGIC && rd64(map + p + 48) > w->seq + 1 &&
		    rec_check(map + p, size - p, epoch, 0)) {
			rc = err_set(e, STORE_E_CORRUPT,
			             "write-ahead log %s is damaged at offset %zu but has valid "
			             "records after it (at %zu); refusing to drop them",
			             path, off, p);
			goto out;
		}
	}
	if (off < size && rec_check(map + off, size - off, epoch, 0) == 0 &&
	    size - off >= HDR_SIZE && rd32(map + off) == WAL_MAGIC && rd32(map + off + 12) == epoch)
		log_warn(
		    "write-ahead log %s: dropped a torn record at offset %zu (never acknowledged)",
		    path, off);
	w->off = off;
out:
	munmap(map, size);
	return rc;
}

void wal_close(struct wal *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->path);
	w->path = NULL;
}

int wal_write(struct wal *w, const struct buf *b, uint64_t nrecs, struct err *e)
{
	size_t done = 0;
	int rc = 0;

	while (done < b->len) {
		ssize_t n = pwrite(w->fd, b->data + done, b->len - done, (off_t)(w->off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (rc == 0 && w->sync && fdatasync(w->fd) < 0)
		rc = -errno;
	if (rc == 0) {
		w->off += b->len;
		w->seq += nrecs;
		return 0;
	}
	/* Cut the log back so a half-written batch can never be replayed later. If even
	 * that fails, the caller must stop writing. */
	int rc2 = 0;
	if (ftruncate(w->fd, (off_t)w->off) < 0 || (w->sync && fdatasync(w->fd) < 0))
		rc2 = -errno;
	if (rc == -EFBIG || rc == -EDQUOT)
		rc = -ENOSPC;
	err_set(e, rc, "write-ahead log %s: %s%s", w->path, strerror(-rc),
	        rc2 ? "; cannot cut back the log either" : "");
	return rc2 ? -EIO : rc;
}

void wal_reset(struct wal *w, uint32_t epoch)
{
	w->epoch = epoch;
	w->seq = 0;
	w->off = 0;
}
