/* schema check: strict field validation and strategic-merge metadata lookups over the table. */
#include <string.h>

#include "core/schema/schema-internal.h"
#include "core/schema/schema.h"

void schema_issues_free(struct schema_issues *issues)
{
	if (!issues)
		return;
	for (size_t i = 0; i < issues->n; i++) {
		free(issues->v[i].path);
		free(issues->v[i].message);
	}
	free(issues->v);
	memset(issues, 0, sizeof(*issues));
}

static void issue(struct schema_issues *issues, const char *what, const struct buf *path)
{
	if (issues->n >= SCHEMA_MAX_ISSUES)
		return;
	if (issues->n == issues->cap) {
		issues->cap = issues->cap ? issues->cap * 2 : 8;
		issues->v = xrealloc(issues->v, issues->cap * sizeof(*issues->v));
	}
	issues->v[issues->n].path = xstrdup(path->data);
	issues->v[issues->n].message = xasprintf("%s field \"%s\"", what, path->data);
	issues->n++;
}

static const struct sfield *find_field(const struct model *m, const struct stype *t,
                                       const char *name)
{
	for (uint32_t i = 0; i < t->nfields; i++)
		if (sstr_eq(m->fields[t->first + i].name, name))
			return &m->fields[t->first + i];
	return NULL;
}

/* Appends ".name" (or "name" at the root) to the path; returns the old length. */
static size_t push(struct buf *path, const char *name)
{
	size_t old = path->len;
	if (old)
		buf_addc(path, '.');
	buf_adds(path, name ? name : "");
	return old;
}

static void pop(struct buf *path, size_t old)
{
	path->len = old;
	path->data[old] = '\0';
}

struct member {
	const cJSON *c;
	size_t pos; /* in document order */
};

static int cmp_names(const struct member *x, const struct member *y)
{
	return strcmp(x->c->string ? x->c->string : "", y->c->string ? y->c->string : "");
}

static int cmp_members(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = cmp_names(x, y);
	/* Equal names keep document order, so the first occurrence is not the "duplicate". */
	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * Marks keys that occur a second time in one object (cJSON keeps every occurrence as its own
 * child): dup[i] is set for the i-th member when an earlier member has its name. Small objects
 * are compared pairwise; large ones (a ConfigMap with thousands of keys) are sorted by name,
 * so a hostile body cannot make this quadratic. Returns NULL when there are none.
 */
static uint8_t *duplicates(const cJSON *obj)
{
	size_t n = 0;
	for (const cJSON *c = obj->child; c; c = c->next)
		n++;
	if (n < 2)
		return NULL;
	uint8_t *dup = xcalloc(n, 1);
	struct member *v = xmalloc(n * sizeof(*v));
	size_t i = 0;
	for (const cJSON *c = obj->child; c; c = c->next, i++)
		v[i] = (struct member){ c, i };
	bool any = false;
	if (n <= 32) {
		for (i = 1; i < n; i++)
			for (size_t j = 0; j < i && !dup[i]; j++)
				if (!cmp_names(&v[i], &v[j]))
					dup[i] = 1, any = true;
	} else {
		qsort(v, n, sizeof(*v), cmp_members);
		for (i = 1; i < n; i++)
			if (!cmp_names(&v[i], &v[i - 1]))
				dup[v[i].pos] = 1, any = true;
	}
	free(v);
	if (!any) {
		free(dup);
		return NULL;
	}
	return dup;
}

static void check_type(const struct model *m, int ti, const cJSON *obj, struct buf *path,
                       struct schema_issues *issues);

/* A value of field f seen through its wrappers from `level` on. */
static void check_value(const struct model *m, const struct sfield *f, int level, const cJSON *v,
                        struct buf *path, struct schema_issues *issues)
{
	if (level < f->nwrap) {
		if (f->wrap[level] == WRAP_ARRAY) {
			if (!cJSON_IsArray(v))
				return;
			int i = 0;
			for (const cJSON *c = v->child; c; c = c->next, i++) {
				size_t old = path->len;
				buf_printf(path, "[%d]", i);
				check_value(m, f, level + 1, c, path, issues);
				pop(path, old);
			}
			return;
		}
		if (!cJSON_IsObject(v))
			return;
		uint8_t *dup = duplicates(v);
		size_t i = 0;
		for (const cJSON *c = v->child; c; c = c->next, i++) {
			size_t old = push(path, c->string);
			if (dup && dup[i])
				issue(issues, "duplicate", path);
			else
				check_value(m, f, level + 1, c, path, issues);
			pop(path, old);
		}
		free(dup);
		return;
	}
	if (f->base == BASE_REF && m->types[f->ref].shape == SHAPE_OBJECT)
		check_type(m, f->ref, v, path, issues);
}

static void check_type(const struct model *m, int ti, const cJSON *obj, struct buf *path,
                       struct schema_issues *issues)
{
	if (!cJSON_IsObject(obj))
		return;
	const struct stype *t = &m->types[ti];
	uint8_t *dup = duplicates(obj);
	size_t i = 0;
	for (const cJSON *c = obj->child; c; c = c->next, i++) {
		size_t old = push(path, c->string);
		const struct sfield *f = c->string ? find_field(m, t, c->string) : NULL;
		if (dup && dup[i])
			issue(issues, "duplicate", path);
		else if (!f)
			issue(issues, "unknown", path);
		else
			check_value(m, f, 0, c, path, issues);
		pop(path, old);
	}
	free(dup);
}

int schema_check_fields(const char *api_version, const char *kind, const cJSON *obj,
                        struct schema_issues *issues)
{
	const struct model *m = schema_model();
	int ti = schema_find_kind(m, api_version, kind);
	if (ti < 0)
		return -ENOENT;
	if (!cJSON_IsObject(obj))
		return -EINVAL;
	struct buf path = { 0 };
	buf_reserve(&path, 64);
	check_type(m, ti, obj, &path, issues);
	buf_free(&path);
	return 0;
}

int schema_patch_meta(const char *api_version, const char *kind, const char *path,
                      struct schema_patch_meta *out)
{
	static const enum schema_list_type lists[] = { SCHEMA_LIST_NONE, SCHEMA_LIST_ATOMIC,
		                                       SCHEMA_LIST_SET, SCHEMA_LIST_MAP };
	memset(out, 0, sizeof(*out));
	const struct model *m = schema_model();
	int ti = schema_find_kind(m, api_version, kind);
	if (ti < 0 || !path || !*path)
		return -ENOENT;
	const struct sfield *f = NULL;
	int level = 0; /* wrappers of f already stepped through */
	const char *p = path;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char name[128];
		if (n == 0 || n >= sizeof(name))
			return -ENOENT;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n + (dot ? 1 : 0);
		if (f) {
			/* Step through lists; a map consumes this component as its key. */
			while (level < f->nwrap && f->wrap[level] == WRAP_ARRAY)
				level++;
			if (level < f->nwrap) {
				level++;
				if (!*p && level == f->nwrap)
					break; /* the path ends at a map entry: report the map */
				continue;
			}
			if (f->base != BASE_REF || m->types[f->ref].shape != SHAPE_OBJECT)
				return -ENOENT;
			ti = f->ref;
		}
		f = find_field(m, &m->types[ti], name);
		if (!f)
			return -ENOENT;
		level = 0;
	}
	if (!f)
		return -ENOENT;
	out->found = true;
	out->is_list = f->nwrap > 0 && f->wrap[0] == WRAP_ARRAY;
	out->is_map = f->nwrap > 0 && f->wrap[0] == WRAP_MAP;
	out->merge = f->strategy & STRAT_MERGE;
	out->retain_keys = f->strategy & STRAT_RETAIN;
	out->merge_key = f->key;
	out->list_type = lists[f->list_type];
	for (int i = 0; i < 3 && f->lkeys[i]; i++)
		out->map_keys[i] = f->lkeys[i];
	out->atomic_map = f->map_type == MAPT_ATOMIC ||
	                  (f->base == BASE_REF && !f->nwrap && m->types[f->ref].flags & TF_ATOMIC);
	return 0;
}
