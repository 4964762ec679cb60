/* db: the byte layout of records and index entries inside LMDB. */
#include <string.h>

#include "core/store/store-internal.h"

void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Versions of one key sort newest first: the revision is stored inverted. */
size_t idx_key(uint8_t *out, const char *key, size_t key_len, uint64_t rev)
{
	memcpy(out, key, key_len);
	out[key_len] = 0;
	put_be64(out + key_len + 1, ~rev);
	return key_len + 9;
}

/* u8 type, u8 0, u16 key_len, u64 create_rev, u64 prev_rev, u16 prev_sub, key, value */
#define DBREC_HDR 22u

void dbrec_encode(struct buf *b, const struct rec *r)
{
	uint8_t h[DBREC_HDR] = { 0 };
	uint16_t kl = (uint16_t)r->key_len;
	h[0] = r->type;
	memcpy(h + 2, &kl, 2);
	memcpy(h + 4, &r->create_rev, 8);
	memcpy(h + 12, &r->prev.rev, 8);
	memcpy(h + 20, &r->prev.sub, 2);
	buf_reset(b);
	buf_add(b, h, sizeof(h));
	buf_add(b, r->key, r->key_len);
	if (r->val_len)
		buf_add(b, r->val, r->val_len);
}

int dbrec_decode(const MDB_val *v, struct dbrec *out)
{
	const uint8_t *p = v->mv_data;
	uint16_t kl;
	if (v->mv_size < DBREC_HDR)
		return STORE_E_CORRUPT;
	memcpy(&kl, p + 2, 2);
	if (v->mv_size < DBREC_HDR + (size_t)kl || (p[0] != STORE_PUT && p[0] != STORE_DELETE))
		return STORE_E_CORRUPT;
	out->type = p[0];
	memcpy(&out->create_rev, p + 4, 8);
	memcpy(&out->prev.rev, p + 12, 8);
	memcpy(&out->prev.sub, p + 20, 2);
	out->key = (const char *)p + DBREC_HDR;
	out->key_len = kl;
	out->val = out->key + kl;
	out->val_len = v->mv_size - DBREC_HDR - kl;
	return 0;
}
