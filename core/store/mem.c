/* mem: the memtable, records written since the last checkpoint, with a key hash. */
#include <string.h>

#include "core/store/store-internal.h"

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
	return h;
}

struct memgen *mem_new(uint64_t base_rev)
{
	struct memgen *g = xcalloc(1, sizeof(*g));
	g->refs = 1;
	g->base_rev = base_rev;
	return g;
}

void mem_ref(struct memgen *g)
{
	__atomic_add_fetch(&g->refs, 1, __ATOMIC_ACQ_REL);
}

void rec_free(struct rec *r)
{
	if (!r)
		return;
	free(r->key);
	free(r->val);
	free(r);
}

void mem_unref(struct memgen *g)
{
	if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < g->count; i++)
		rec_free(mem_at(g, i));
	for (size_t c = 0; c < g->nchunks; c++)
		free(g->chunks[c]);
	free(g->chunks);
	free(g->slots);
	free(g);
}

struct rec *mem_at(const struct memgen *g, size_t i)
{
	return g->chunks[i / MEM_CHUNK][i % MEM_CHUNK];
}

static struct rec **slot_for(struct rec **slots, size_t nslots, const char *key, size_t len)
{
	size_t i = (size_t)hash_key(key, len) & (nslots - 1);
	for (;;) {
		struct rec *r = slots[i];
		if (!r || (r->key_len == len && memcmp(r->key, key, len) == 0))
			return &slots[i];
		i = (i + 1) & (nslots - 1);
	}
}

static void grow(struct memgen *g)
{
	size_t n = g->nslots ? g->nslots * 2 : 256;
	struct rec **slots = xcalloc(n, sizeof(*slots));
	for (size_t i = 0; i < g->nslots; i++) {
		struct rec *r = g->slots[i];
		if (r)
			*slot_for(slots, n, r->key, r->key_len) = r;
	}
	free(g->slots);
	g->slots = slots;
	g->nslots = n;
}

void mem_append(struct memgen *g, struct rec *r)
{
	if (g->count % MEM_CHUNK == 0 && g->count / MEM_CHUNK == g->nchunks) {
		g->chunks = xrealloc(g->chunks, (g->nchunks + 1) * sizeof(*g->chunks));
		g->chunks[g->nchunks++] = xmalloc(MEM_CHUNK * sizeof(struct rec *));
	}
	g->chunks[g->count / MEM_CHUNK][g->count % MEM_CHUNK] = r;
	g->count++;
	g->bytes += sizeof(*r) + r->key_len + r->val_len;

	if ((g->used + 1) * 10 >= g->nslots * 7)
		grow(g);
	struct rec **slot = slot_for(g->slots, g->nslots, r->key, r->key_len);
	r->prev_mem = *slot;
	if (!*slot)
		g->used++;
	*slot = r;
}

struct rec *mem_latest(const struct memgen *g, const char *key, size_t key_len)
{
	if (!g->nslots)
		return NULL;
	return *slot_for(g->slots, g->nslots, key, key_len);
}

struct rec *mem_at_rev(const struct memgen *g, const char *key, size_t key_len, uint64_t rev)
{
	struct rec *r = mem_latest(g, key, key_len);
	while (r && r->rev > rev)
		r = r->prev_mem;
	return r;
}
