/* arena: per-request bump allocation, freed in one call when the request is finished. */
#include <stdalign.h>
#include <string.h>

#include "core/http/http-internal.h"

#define ARENA_ALIGN 16
#define ARENA_MAX_BLOCK (64 * 1024)

static struct arena_block *block_new(size_t cap)
{
	struct arena_block *b = xmalloc(sizeof(*b) + cap);
	b->next = NULL;
	b->cap = cap;
	b->used = 0;
	return b;
}

void arena_init(struct arena *a, size_t first_block)
{
	a->head = NULL;
	a->next_size = first_block ? first_block : 4096;
}

void *arena_alloc(struct arena *a, size_t n)
{
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct arena_block *b = a->head;

	if (need < n) /* overflow */
		need = n;
	if (b && b->cap - b->used >= need) {
		void *p = b->data + b->used;
		b->used += need;
		return p;
	}
	/* A large allocation gets a block of its own behind the current one, so
	 * the space left in the current block is not wasted. */
	if (b && need > a->next_size / 2) {
		struct arena_block *big = block_new(need);
		big->used = need;
		big->next = b->next;
		b->next = big;
		return big->data;
	}
	size_t cap = MAX(a->next_size, need);
	struct arena_block *nb = block_new(cap);
	nb->next = b;
	a->head = nb;
	if (a->next_size < ARENA_MAX_BLOCK)
		a->next_size *= 2;
	nb->used = need;
	return nb->data;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *n = b->next;
		free(b);
		b = n;
	}
	a->head = NULL;
}
