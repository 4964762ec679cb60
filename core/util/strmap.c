/* strmap: open-addressing hash map from strings to pointers, for caches and sets. */
#include <string.h>

#include "core/util/util.h"

#define TOMB ((char *)1)

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static struct strmap_slot *find(const struct strmap *m, const char *key,
                                struct strmap_slot **free_slot)
{
	if (!m->cap)
		return NULL;
	size_t i = (size_t)hash(key) & (m->cap - 1);
	if (free_slot)
		*free_slot = NULL;
	for (size_t n = 0; n < m->cap; n++, i = (i + 1) & (m->cap - 1)) {
		struct strmap_slot *s = &m->slots[i];
		if (!s->key) {
			if (free_slot && !*free_slot)
				*free_slot = s;
			return NULL;
		}
		if (s->key == TOMB) {
			if (free_slot && !*free_slot)
				*free_slot = s;
			continue;
		}
		if (!strcmp(s->key, key))
			return s;
	}
	return NULL;
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;
	m->cap = old.cap ? old.cap * 2 : 16;
	if (old.cap && old.len * 4 < old.cap)
		m->cap = old.cap; /* mostly tombstones: rebuild at the same size */
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->len = m->used = 0;
	for (size_t i = 0; i < old.cap; i++) {
		struct strmap_slot *s = &old.slots[i];
		if (s->key && s->key != TOMB) {
			struct strmap_slot *fs;
			find(m, s->key, &fs);
			*fs = *s;
			m->len++;
			m->used++;
		}
	}
	free(old.slots);
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = find(m, key, NULL);
	return s ? s->val : NULL;
}

void *strmap_put(struct strmap *m, const char *key, void *val)
{
	if ((m->used + 1) * 4 >= m->cap * 3)
		grow(m);
	struct strmap_slot *fs, *s = find(m, key, &fs);
	if (s) {
		void *old = s->val;
		s->val = val;
		return old;
	}
	if (!fs->key)
		m->used++;
	fs->key = xstrdup(key);
	fs->val = val;
	m->len++;
	return NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s = find(m, key, NULL);
	if (!s)
		return NULL;
	void *v = s->val;
	free(s->key);
	s->key = TOMB;
	s->val = NULL;
	m->len--;
	return v;
}

bool strmap_next(const struct strmap *m, size_t *i, const char **key, void **val)
{
	for (; *i < m->cap; (*i)++) {
		struct strmap_slot *s = &m->slots[*i];
		if (s->key && s->key != TOMB) {
			if (key)
				*key = s->key;
			if (val)
				*val = s->val;
			(*i)++;
			return true;
		}
	}
	return false;
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMB)
			free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
