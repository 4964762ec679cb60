/* jsonpatch: RFC 6902 JSON Patch with RFC 6901 pointers, and RFC 7386 JSON Merge Patch. */
#include <stdio.h>
#include <string.h>

#include "core/obj/obj-internal.h"

/* ---- RFC 6901 pointers ------------------------------------------------------------ */

struct ptr {
	char **tok;
	size_t n;
};

static void ptr_free(struct ptr *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->tok[i]);
	free(p->tok);
	p->tok = NULL;
	p->n = 0;
}

/* "/a/b~1c" → ["a", "b/c"]; "" is the whole document. */
static int ptr_parse(const char *s, struct ptr *p, struct err *e)
{
	memset(p, 0, sizeof(*p));
	if (!*s)
		return 0;
	if (*s != '/')
		return err_set(e, -EINVAL,
		               "JSON pointer \"%.100s\" must be empty or start with '/'", s);
	while (*s == '/') {
		s++;
		struct buf b = { 0 };
		buf_adds(&b, "");
		while (*s && *s != '/') {
			if (*s == '~') {
				if (s[1] == '0')
					buf_addc(&b, '~');
				else if (s[1] == '1')
					buf_addc(&b, '/');
				else {
					buf_free(&b);
					ptr_free(p);
					return err_set(
					    e, -EINVAL,
					    "JSON pointer: '~' must be followed by 0 or 1");
				}
				s += 2;
				continue;
			}
			buf_addc(&b, *s++);
		}
		p->tok = xrealloc(p->tok, (p->n + 1) * sizeof(*p->tok));
		p->tok[p->n++] = buf_steal(&b);
	}
	return 0;
}

/* An array index token: digits without leading zeros (or "-" when allowed). */
static bool index_token(const char *t, size_t len, bool allow_end, size_t *idx)
{
	if (allow_end && strcmp(t, "-") == 0) {
		*idx = len;
		return true;
	}
	if (!*t || (t[0] == '0' && t[1]))
		return false;
	size_t v = 0;
	for (const char *p = t; *p; p++) {
		if (*p < '0' || *p > '9' || v > 100000000)
			return false;
		v = v * 10 + (size_t)(*p - '0');
	}
	*idx = v;
	return true;
}

/* The node the first n tokens name, or NULL. */
static cJSON *ptr_walk(cJSON *doc, const struct ptr *p, size_t n)
{
	cJSON *cur = doc;
	for (size_t i = 0; cur && i < n; i++) {
		size_t idx;
		if (jis_obj(cur))
			cur = cJSON_GetObjectItemCaseSensitive(cur, p->tok[i]);
		else if (jis_arr(cur) && index_token(p->tok[i], jlen(cur), false, &idx) &&
		         idx < jlen(cur))
			cur = cJSON_GetArrayItem(cur, (int)idx);
		else
			cur = NULL;
	}
	return cur;
}

/* ---- operations --------------------------------------------------------------------- */

/* Adds v at p (takes v); *doc may be replaced when p is the root. */
static int op_add(cJSON **doc, const struct ptr *p, const char *path, cJSON *v, struct err *e)
{
	if (p->n == 0) {
		cJSON_Delete(*doc);
		*doc = v;
		return 0;
	}
	cJSON *parent = ptr_walk(*doc, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	size_t idx;
	if (jis_obj(parent)) {
		jput(parent, last, v);
		return 0;
	}
	if (jis_arr(parent)) {
		size_t len = jlen(parent);
		if (!index_token(last, len, true, &idx) || idx > len) {
			cJSON_Delete(v);
			return err_set(e, -EINVAL,
			               "add operation does not apply: index out of range: %s",
			               path);
		}
		/* Debian's cJSON 1.7.15 refuses cJSON_InsertItemInArray inside an
		 * array, so move the tail out, append, and move it back. */
		cJSON *tail = jarr();
		while (jlen(parent) > idx)
			jappend(tail, cJSON_DetachItemFromArray(parent, (int)idx));
		jappend(parent, v);
		while (tail->child)
			jappend(parent, cJSON_DetachItemViaPointer(tail, tail->child));
		cJSON_Delete(tail);
		return 0;
	}
	cJSON_Delete(v);
	return err_set(e, -EINVAL, "add operation does not apply: doc is missing path: \"%.200s\"",
	               path);
}

/* Detaches and returns the node at p, or NULL with an error. */
static cJSON *op_detach(cJSON *doc, const struct ptr *p, const char *what, const char *path,
                        struct err *e)
{
	if (p->n == 0) {
		err_set(e, -EINVAL, "%s operation does not apply: cannot remove the whole document",
		        what);
		return NULL;
	}
	cJSON *parent = ptr_walk(doc, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	size_t idx;
	cJSON *v = NULL;
	if (jis_obj(parent))
		v = cJSON_DetachItemFromObjectCaseSensitive(parent, last);
	else if (jis_arr(parent) && index_token(last, jlen(parent), false, &idx) &&
	         idx < jlen(parent))
		v = cJSON_DetachItemFromArray(parent, (int)idx);
	if (!v)
		err_set(e, -EINVAL, "%s operation does not apply: doc is missing path: \"%.200s\"",
		        what, path);
	return v;
}

static bool is_prefix(const struct ptr *a, const struct ptr *b)
{
	if (a->n > b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->tok[i], b->tok[i]) != 0)
			return false;
	return true;
}

static int apply_op(cJSON **doc, const cJSON *op, size_t i, struct err *e)
{
	struct ptr p = { 0 }, from = { 0 };
	int rc = 0;
	const char *name = obj_get_str(op, "op");
	const char *path = obj_get_str(op, "path");
	const cJSON *value = obj_child(op, "value");
	const char *fpath = obj_get_str(op, "from");

	if (!jis_obj(op))
		return err_set(e, -EINVAL, "operation %zu is a %s, not an object", i,
		               jtype_name(op));
	if (!name)
		return err_set(e, -EINVAL, "operation %zu has no \"op\"", i);
	if (!path)
		return err_set(e, -EINVAL, "operation %zu (%s) has no \"path\"", i, name);
	if ((rc = ptr_parse(path, &p, e)) < 0)
		goto out;
	bool needs_value =
	    strcmp(name, "add") == 0 || strcmp(name, "replace") == 0 || strcmp(name, "test") == 0;
	bool needs_from = strcmp(name, "move") == 0 || strcmp(name, "copy") == 0;
	if (needs_value && !value) {
		rc = err_set(e, -EINVAL, "operation %zu (%s %s) has no \"value\"", i, name, path);
		goto out;
	}
	if (needs_from) {
		if (!fpath) {
			rc = err_set(e, -EINVAL, "operation %zu (%s %s) has no \"from\"", i, name,
			             path);
			goto out;
		}
		if ((rc = ptr_parse(fpath, &from, e)) < 0)
			goto out;
	}

	if (strcmp(name, "add") == 0) {
		rc = op_add(doc, &p, path, obj_dup(value), e);
	} else if (strcmp(name, "remove") == 0) {
		cJSON *v = op_detach(*doc, &p, "remove", path, e);
		rc = v ? 0 : -EINVAL;
		cJSON_Delete(v);
	} else if (strcmp(name, "replace") == 0) {
		if (p.n == 0) {
			cJSON_Delete(*doc);
			*doc = obj_dup(value);
		} else {
			cJSON *v = op_detach(*doc, &p, "replace", path, e);
			if (!v) {
				rc = -EINVAL;
				goto out;
			}
			cJSON_Delete(v);
			rc = op_add(doc, &p, path, obj_dup(value), e);
		}
	} else if (strcmp(name, "move") == 0) {
		if (is_prefix(&from, &p) && from.n != p.n) {
			rc = err_set(e, -EINVAL,
			             "move operation: \"%.100s\" cannot move into itself", fpath);
			goto out;
		}
		if (from.n == p.n && is_prefix(&from, &p))
			goto out; /* moving onto itself changes nothing */
		cJSON *v = op_detach(*doc, &from, "move", fpath, e);
		rc = v ? op_add(doc, &p, path, v, e) : -EINVAL;
	} else if (strcmp(name, "copy") == 0) {
		cJSON *v = ptr_walk(*doc, &from, from.n);
		if (!v) {
			rc = err_set(
			    e, -EINVAL,
			    "copy operation does not apply: doc is missing from path: \"%.200s\"",
			    fpath);
			goto out;
		}
		rc = op_add(doc, &p, path, obj_dup(v), e);
	} else if (strcmp(name, "test") == 0) {
		cJSON *v = ptr_walk(*doc, &p, p.n);
		/* As upstream's library: a missing value passes a test for null. */
		bool ok = v ? obj_equal(v, value) : jis_null(value);
		if (!ok)
			rc = err_set(e, -EINVAL, "testing value %.200s failed", path);
	} else {
		rc = err_set(e, -EINVAL, "operation %zu: unexpected op \"%.40s\"", i, name);
	}
out:
	ptr_free(&p);
	ptr_free(&from);
	return rc;
}

int patch_json(const cJSON *doc, const cJSON *ops, cJSON **out, struct err *e)
{
	*out = NULL;
	if (!jis_arr(ops))
		return err_set(e, -EINVAL, "a JSON patch must be an array of operations, not a %s",
		               jtype_name(ops));
	if (jlen(ops) > PATCH_MAX_OPS)
		return err_set(e, -E2BIG,
		               "a JSON patch may have at most %d operations, this has %zu",
		               PATCH_MAX_OPS, jlen(ops));
	cJSON *d = obj_dup(doc);
	size_t i = 0;
	for (const cJSON *op = ops->child; op; op = op->next, i++) {
		int rc = apply_op(&d, op, i, e);
		if (rc < 0) {
			cJSON_Delete(d);
			return rc;
		}
	}
	*out = d;
	return 0;
}

/* ---- RFC 7386 merge patch ------------------------------------------------------------- */

/*
 * Merges an object patch into the object target in place. Members keep their
 * position, so a patched object prints in its original key order; nulls
 * delete, and in new objects they are simply left out.
 */
static void merge_into(cJSON *target, const cJSON *patch)
{
	for (const cJSON *c = patch->child; c; c = c->next) {
		if (jis_null(c)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, c->string);
			continue;
		}
		cJSON *old = cJSON_GetObjectItemCaseSensitive(target, c->string);
		if (jis_obj(c) && jis_obj(old)) {
			merge_into(old, c);
		} else if (jis_obj(c)) {
			cJSON *n = jobj();
			merge_into(n, c);
			jput(target, c->string, n);
		} else {
			jput(target, c->string, obj_dup(c));
		}
	}
}

int patch_merge(const cJSON *doc, const cJSON *patch, cJSON **out, struct err *e)
{
	*out = NULL;
	if (!patch)
		return err_set(e, -EINVAL, "merge patch: no patch");
	if (!jis_obj(patch)) {
		*out = obj_dup(patch);
		return 0;
	}
	*out = jis_obj(doc) ? obj_dup(doc) : jobj();
	merge_into(*out, patch);
	return 0;
}
