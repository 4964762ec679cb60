/* fieldset: sets of field paths as server-side apply tracks ownership, and their fieldsV1 form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/obj/obj-internal.h"

struct fs *fs_new(void)
{
	return xcalloc(1, sizeof(struct fs));
}

void fs_free(struct fs *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		fs_free(s->kids[i]);
	free(s->kids);
	free(s->pe);
	cJSON_Delete(s->val);
	free(s);
}

/* ---- ordering of path elements (upstream's PathElement.Compare) --------------------- */

static int rank(char kind)
{
	switch (kind) {
	case 'f':
		return 0;
	case 'k':
		return 1;
	case 'v':
		return 2;
	default:
		return 3;
	}
}

static int vrank(const cJSON *v)
{
	switch (jtype(v)) {
	case cJSON_Number:
		return 0;
	case cJSON_String:
		return 1;
	case cJSON_True:
	case cJSON_False:
		return 2;
	case cJSON_Array:
		return 3;
	case cJSON_Object:
		return 4;
	default:
		return 5;
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* Numbers < strings < booleans < lists < maps < null, each compared in kind. */
static int vcmp(const cJSON *a, const cJSON *b)
{
	int ra = vrank(a), rb = vrank(b);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 0:
		return a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble;
	case 1:
		return strcmp(a->valuestring, b->valuestring);
	case 2:
		return (jtype(a) == cJSON_True) - (jtype(b) == cJSON_True);
	case 3: {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next) {
			int c = vcmp(x, y);
			if (c)
				return c;
		}
		return x ? 1 : y ? -1 : 0;
	}
	case 4: {
		/* Maps compare as sorted key/value lists. */
		size_t na = jlen(a), nb = jlen(b), i = 0, j = 0;
		const cJSON **ka = xcalloc(na + 1, sizeof(*ka)),
		            **kb = xcalloc(nb + 1, sizeof(*kb));
		for (const cJSON *c = a->child; c; c = c->next)
			ka[i++] = c;
		for (const cJSON *c = b->child; c; c = c->next)
			kb[j++] = c;
		qsort(ka, na, sizeof(*ka), cmp_keys);
		qsort(kb, nb, sizeof(*kb), cmp_keys);
		int r = 0;
		for (i = 0; i < na && i < nb && !r; i++) {
			r = strcmp(ka[i]->string, kb[i]->string);
			if (!r)
				r = vcmp(ka[i], kb[i]);
		}
		if (!r && na != nb)
			r = na < nb ? -1 : 1;
		free(ka);
		free(kb);
		return r;
	}
	default:
		return 0;
	}
}

static int pe_cmp(const struct fs *a, const struct fs *b)
{
	int ra = rank(a->pe[0]), rb = rank(b->pe[0]);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->pe[0]) {
	case 'k':
	case 'v':
		if (a->val && b->val) {
			int c = vcmp(a->val, b->val);
			if (c)
				return c;
		}
		return strcmp(a->pe, b->pe);
	case 'i': {
		long x = atol(a->pe + 2), y = atol(b->pe + 2);
		return x < y ? -1 : x > y;
	}
	default:
		return strcmp(a->pe + 2, b->pe + 2);
	}
}

/* ---- nodes ------------------------------------------------------------------------- */

const struct fs *fs_find(const struct fs *s, const char *pe)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->kids[i]->pe, pe) == 0)
			return s->kids[i];
	return NULL;
}

struct fs *fs_child(struct fs *s, const char *pe, bool create)
{
	struct fs *c = (struct fs *)fs_find(s, pe);
	if (c || !create)
		return c;
	c = fs_new();
	c->pe = xstrdup(pe);
	if (pe[0] == 'k' || pe[0] == 'v') {
		cJSON *v = NULL;
		if (obj_parse(pe + 2, strlen(pe + 2), &v, NULL) == 0)
			c->val = v;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->kids = xrealloc(s->kids, s->cap * sizeof(*s->kids));
	}
	size_t at = s->n;
	while (at > 0 && pe_cmp(s->kids[at - 1], c) > 0)
		at--;
	memmove(&s->kids[at + 1], &s->kids[at], (s->n - at) * sizeof(*s->kids));
	s->kids[at] = c;
	s->n++;
	return c;
}

bool fs_empty(const struct fs *s)
{
	if (!s)
		return true;
	if (s->member)
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (!fs_empty(s->kids[i]))
			return false;
	return true;
}

struct fs *fs_dup(const struct fs *s)
{
	struct fs *d = fs_new();
	fs_union(d, s);
	return d;
}

void fs_union(struct fs *a, const struct fs *b)
{
	if (!b)
		return;
	a->member |= b->member;
	for (size_t i = 0; i < b->n; i++)
		fs_union(fs_child(a, b->kids[i]->pe, true), b->kids[i]);
}

void fs_subtract(struct fs *a, const struct fs *b)
{
	if (!b)
		return;
	if (b->member)
		a->member = false;
	for (size_t i = 0; i < a->n; i++)
		fs_subtract(a->kids[i], fs_find(b, a->kids[i]->pe));
}

static void remove_kid(struct fs *s, size_t i)
{
	fs_free(s->kids[i]);
	memmove(&s->kids[i], &s->kids[i + 1], (s->n - i - 1) * sizeof(*s->kids));
	s->n--;
}

void fs_subtract_recursive(struct fs *a, const struct fs *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < a->n;) {
		const struct fs *bc = fs_find(b, a->kids[i]->pe);
		if (bc && bc->member) {
			remove_kid(a, i);
			continue;
		}
		if (bc)
			fs_subtract_recursive(a->kids[i], bc);
		i++;
	}
}

struct fs *fs_intersect(const struct fs *a, const struct fs *b)
{
	struct fs *r = fs_new();
	r->member = a && b && a->member && b->member;
	for (size_t i = 0; a && b && i < a->n; i++) {
		const struct fs *bc = fs_find(b, a->kids[i]->pe);
		if (!bc)
			continue;
		struct fs *x = fs_intersect(a->kids[i], bc);
		if (fs_empty(x)) {
			fs_free(x);
			continue;
		}
		struct fs *c = fs_child(r, a->kids[i]->pe, true);
		fs_union(c, x);
		fs_free(x);
	}
	return r;
}

void fs_compact(struct fs *s)
{
	for (size_t i = 0; i < s->n;) {
		fs_compact(s->kids[i]);
		if (!s->kids[i]->member && s->kids[i]->n == 0) {
			remove_kid(s, i);
			continue;
		}
		i++;
	}
}

/* ---- fieldsV1 ------------------------------------------------------------------------ */

/* Checks a serialized path element and gives it canonical form. */
static int canonical_pe(const char *k, char **out, struct err *e)
{
	if (strlen(k) < 2 || k[1] != ':')
		return err_set(e, -EINVAL, "invalid path element \"%.80s\"", k);
	switch (k[0]) {
	case 'f':
		*out = xstrdup(k);
		return 0;
	case 'i': {
		char *end;
		long v = strtol(k + 2, &end, 10);
		if (!k[2] || *end || v < 0)
			return err_set(e, -EINVAL, "invalid index path element \"%.80s\"", k);
		*out = xasprintf("i:%ld", v);
		return 0;
	}
	case 'k':
	case 'v': {
		cJSON *v = NULL;
		if (obj_parse(k + 2, strlen(k + 2), &v, NULL) < 0 || (k[0] == 'k' && !jis_obj(v))) {
			cJSON_Delete(v);
			return err_set(e, -EINVAL, "invalid path element \"%.80s\"", k);
		}
		char *s = obj_print(v, OBJ_PRINT_SORTED);
		*out = xasprintf("%c:%s", k[0], s);
		free(s);
		cJSON_Delete(v);
		return 0;
	}
	default:
		return err_set(e, -EINVAL, "unknown path element type in \"%.80s\"", k);
	}
}

static int read_v1(struct fs *s, const cJSON *v, int depth, struct err *e)
{
	if (!jis_obj(v))
		return err_set(e, -EINVAL, "fieldsV1 must be made of objects");
	if (depth > 100)
		return err_set(e, -EINVAL, "fieldsV1 is nested too deeply");
	for (const cJSON *c = v->child; c; c = c->next) {
		if (strcmp(c->string, ".") == 0) {
			s->member = true;
			continue;
		}
		char *pe = NULL;
		if (canonical_pe(c->string, &pe, e) < 0)
			return -EINVAL;
		struct fs *child = fs_child(s, pe, true);
		free(pe);
		if (!jis_obj(c))
			return err_set(e, -EINVAL, "fieldsV1 must be made of objects");
		if (!c->child)
			child->member = true;
		else if (read_v1(child, c, depth + 1, e) < 0)
			return -EINVAL;
	}
	return 0;
}

int fs_from_json(const cJSON *v, struct fs **out, struct err *e)
{
	struct fs *s = fs_new();
	*out = NULL;
	if (v && read_v1(s, v, 0, e) < 0) {
		fs_free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

static void write_v1(cJSON *o, const struct fs *s)
{
	if (s->member && s->n)
		jadd(o, ".", jobj());
	for (size_t i = 0; i < s->n; i++) {
		if (fs_empty(s->kids[i]))
			continue;
		cJSON *c = jobj();
		write_v1(c, s->kids[i]);
		jadd(o, s->kids[i]->pe, c);
	}
}

cJSON *fs_to_json(const struct fs *s)
{
	cJSON *o = jobj();
	/* The root itself is never written as a member. */
	for (size_t i = 0; s && i < s->n; i++) {
		if (fs_empty(s->kids[i]))
			continue;
		cJSON *c = jobj();
		write_v1(c, s->kids[i]);
		jadd(o, s->kids[i]->pe, c);
	}
	return o;
}

/* ".name", "[k=v,...]" with strings quoted, "[=v]", "[3]". */
static void path_element_text(struct buf *b, const struct fs *n)
{
	switch (n->pe[0]) {
	case 'f':
		buf_printf(b, ".%s", n->pe + 2);
		return;
	case 'i':
		buf_printf(b, "[%s]", n->pe + 2);
		return;
	case 'v':
		buf_adds(b, "[=");
		obj_print_buf(b, n->val, 0);
		buf_addc(b, ']');
		return;
	default:
		buf_addc(b, '[');
		for (const cJSON *c = n->val ? n->val->child : NULL; c; c = c->next) {
			if (c != n->val->child)
				buf_addc(b, ',');
			buf_printf(b, "%s=", c->string);
			obj_print_buf(b, c, 0);
		}
		buf_addc(b, ']');
	}
}

static void each(const struct fs *s, struct buf *b, void (*fn)(void *, const char *), void *ctx)
{
	size_t len = b->len;
	for (size_t i = 0; i < s->n; i++) {
		path_element_text(b, s->kids[i]);
		if (s->kids[i]->member)
			fn(ctx, b->data);
		each(s->kids[i], b, fn, ctx);
		b->len = len;
		b->data[len] = '\0';
	}
}

void fs_each_path(const struct fs *s, void (*fn)(void *ctx, const char *path), void *ctx)
{
	struct buf b = { 0 };
	buf_adds(&b, "");
	each(s, &b, fn, ctx);
	buf_free(&b);
}
