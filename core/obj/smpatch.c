/* smpatch: strategic merge patch as the API server applies it (upstream's mergeMap). */
#include <stdio.h>
#include <string.h>

#include "core/obj/obj-internal.h"

#define SMP_MAX_DEPTH 200

#define DIRECTIVE "$patch"
#define RETAIN_KEYS "$retainKeys"
#define SET_ORDER "$setElementOrder"
#define DELETE_FROM "$deleteFromPrimitiveList"

struct ctx {
	struct err *e;
	int depth;
};

/* ---- helpers ---------------------------------------------------------------------- */

static void jremove(cJSON *parent, cJSON *item)
{
	cJSON_Delete(cJSON_DetachItemViaPointer(parent, item));
}

/* Kinds as Go's reflect sees decoded JSON: booleans are one kind. */
static int kind(const cJSON *v)
{
	int t = jtype(v);
	return t == cJSON_True ? cJSON_False : t;
}

/* Checks every "$..." key of the patch: known directives with values of the right shape. */
static int check_directives(const cJSON *v, int depth, struct err *e)
{
	if (depth > SMP_MAX_DEPTH)
		return err_set(e, -EINVAL, "patch is nested too deeply");
	if (jis_arr(v)) {
		for (const cJSON *c = v->child; c; c = c->next)
			if (check_directives(c, depth + 1, e) < 0)
				return -EINVAL;
		return 0;
	}
	if (!jis_obj(v))
		return 0;
	for (const cJSON *c = v->child; c; c = c->next) {
		const char *k = c->string;
		if (k[0] == '$') {
			if (strcmp(k, DIRECTIVE) == 0) {
				if (!jis_str(c))
					return err_set(e, -EINVAL,
					               "invalid patch: $patch must be a string");
			} else if (strcmp(k, RETAIN_KEYS) == 0) {
				if (!jis_arr(c))
					return err_set(e, -EINVAL,
					               "invalid patch format of retainKeys");
			} else if (str_has_prefix(k, SET_ORDER)) {
				if (!str_has_prefix(k, SET_ORDER "/") || !k[strlen(SET_ORDER) + 1])
					return err_set(
					    e, -EINVAL,
					    "invalid patch format of setElementOrder list: %.100s",
					    k);
				if (!jis_arr(c))
					return err_set(
					    e, -EINVAL,
					    "invalid patch format of setElementOrder list: %.100s "
					    "must be a list",
					    k);
			} else if (str_has_prefix(k, DELETE_FROM)) {
				if (!str_has_prefix(k, DELETE_FROM "/") ||
				    !k[strlen(DELETE_FROM) + 1])
					return err_set(
					    e, -EINVAL,
					    "invalid patch format of primitive list: %.100s", k);
				if (!jis_arr(c))
					return err_set(
					    e, -EINVAL,
					    "invalid patch format of primitive list: %.100s must "
					    "be a list",
					    k);
			} else {
				return err_set(e, -EINVAL, "unknown directive \"%.100s\" in patch",
				               k);
			}
		}
		if (check_directives(c, depth + 1, e) < 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * Prepares patch content that goes into the object as it is: drops maps that
 * carry $patch (as upstream's removeDirectives does), other directive keys and
 * null members. Returns false when v itself must be dropped.
 */
static bool clean(cJSON *v)
{
	if (jis_obj(v)) {
		if (obj_child(v, DIRECTIVE))
			return false;
		for (cJSON *c = v->child, *next; c; c = next) {
			next = c->next;
			if (jis_null(c) || c->string[0] == '$' || !clean(c))
				jremove(v, c);
		}
	} else if (jis_arr(v)) {
		for (cJSON *c = v->child, *next; c; c = next) {
			next = c->next;
			if (!clean(c))
				jremove(v, c);
		}
	}
	return true;
}

/* Takes a patch value out of the patch for insertion; NULL when it is to be dropped. */
static cJSON *take(cJSON *patch_parent, cJSON *v)
{
	cJSON *d = cJSON_DetachItemViaPointer(patch_parent, v);
	if (!clean(d)) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

/* ---- lists ------------------------------------------------------------------------ */

struct list {
	cJSON **v;
	size_t n, cap;
};

static void list_push(struct list *l, cJSON *v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = v;
}

static void list_free(struct list *l, bool nodes)
{
	if (nodes)
		for (size_t i = 0; i < l->n; i++)
			cJSON_Delete(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Detaches every element of an array into a list. */
static void list_from(struct list *l, cJSON *arr)
{
	while (arr && arr->child)
		list_push(l, cJSON_DetachItemViaPointer(arr, arr->child));
}

static cJSON *list_to_array(struct list *l)
{
	cJSON *a = jarr();
	for (size_t i = 0; i < l->n; i++)
		jappend(a, l->v[i]);
	l->n = 0;
	return a;
}

/* The identity of a list item: its merge key's value for maps, itself for scalars. */
static const cJSON *ident(const cJSON *item, const char *key)
{
	return key ? obj_child(item, key) : item;
}

static bool same_item(const cJSON *a, const cJSON *b, const char *key)
{
	const cJSON *x = ident(a, key), *y = ident(b, key);
	if (!x || !y)
		return x == y;
	/* Only scalars compare equal, as Go's == on decoded JSON values. */
	if (jis_container(x) || jis_container(y))
		return false;
	return obj_equal(x, y);
}

static long index_of(cJSON *const *v, size_t n, const cJSON *item, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (same_item(v[i], item, key))
			return (long)i;
	return -1;
}

static int no_merge_key(const cJSON *item, const char *key, struct err *e)
{
	char *s = obj_print(item, 0);
	int r = err_set(e, -EINVAL, "map: %.200s does not contain declared merge key: %s", s, key);
	free(s);
	return r;
}

/*
 * Upstream's normalizeSliceOrder: items sorted (stably) by their position in
 * order; $patch: delete items go last.
 */
static int sort_by(struct list *l, cJSON *const *order, size_t norder, const char *key,
                   struct err *e)
{
	if (key) {
		for (size_t i = 0; i < l->n; i++)
			if (!obj_child(l->v[i], key))
				return no_merge_key(l->v[i], key, e);
		for (size_t i = 0; i < norder; i++)
			if (!obj_child(order[i], key))
				return no_merge_key(order[i], key, e);
	}
	for (size_t i = 1; i < l->n; i++) {
		cJSON *t = l->v[i];
		long ti = index_of(order, norder, t, key);
		size_t j = i;
		while (j > 0) {
			long pj = index_of(order, norder, l->v[j - 1], key);
			if (!(ti >= 0 && pj >= 0 && ti < pj))
				break;
			l->v[j] = l->v[j - 1];
			j--;
		}
		l->v[j] = t;
	}
	return 0;
}

/*
 * Upstream's normalizeElementOrder + mergeSortedSlice: patch items in patch
 * order, server-only items in server order, interleaved by where they sat in
 * the server list. An item the server did not have goes before the server
 * items still waiting, which is why a strategic patch that adds a container
 * without $setElementOrder puts it first.
 */
static int interleave(struct list *patch_items, struct list *server_only, cJSON *const *patch_order,
                      size_t npatch, cJSON *const *server_order, size_t nserver, const char *key,
                      struct list *out, struct err *e)
{
	if (sort_by(patch_items, patch_order, npatch, key, e) < 0 ||
	    sort_by(server_only, server_order, nserver, key, e) < 0)
		return -EINVAL;
	size_t i = 0, j = 0;
	while (i < server_only->n || j < patch_items->n) {
		if (i >= server_only->n) {
			list_push(out, patch_items->v[j++]);
		} else if (j >= patch_items->n) {
			list_push(out, server_only->v[i++]);
		} else {
			long li = index_of(server_order, nserver, server_only->v[i], key);
			long ri = index_of(server_order, nserver, patch_items->v[j], key);
			if (li >= 0 && ri >= 0 && li < ri)
				list_push(out, server_only->v[i++]);
			else
				list_push(out, patch_items->v[j++]);
		}
	}
	return 0;
}

/* Splits items into those present in by (by identity) and the rest. */
static void partition(struct list *items, cJSON *const *by, size_t nby, const char *key,
                      struct list *in, struct list *rest)
{
	for (size_t i = 0; i < items->n; i++)
		list_push(index_of(by, nby, items->v[i], key) >= 0 ? in : rest, items->v[i]);
	items->n = 0;
}

/* Every element is of one kind, and not a list (upstream's sliceElementType). */
static int element_kind(const cJSON *a, const cJSON *b, int *k, struct err *e)
{
	*k = -1;
	const cJSON *lists[2] = { a, b };
	for (int l = 0; l < 2; l++)
		for (const cJSON *c = jis_arr(lists[l]) ? lists[l]->child : NULL; c; c = c->next) {
			if (jis_arr(c))
				return err_set(e, -EINVAL, "lists of lists are not supported");
			if (jis_null(c))
				return err_set(e, -EINVAL,
				               "lists with null elements cannot be merged");
			if (*k >= 0 && kind(c) != *k)
				return err_set(e, -EINVAL, "list element types are not identical");
			*k = kind(c);
		}
	return 0;
}

static cJSON *merge_map(cJSON *orig, cJSON *patch, const struct schema_type *t, struct ctx *c,
                        int *rc);

/* Orders merged items and builds the result array; frees every node on failure. */
static cJSON *ordered(struct list *merged, cJSON *const *porder, size_t np, cJSON *const *sorder,
                      size_t ns, const char *key, struct err *e, int *rc)
{
	struct list pin = { 0 }, sonly = { 0 }, out = { 0 };
	cJSON *r = NULL;
	partition(merged, porder, np, key, &pin, &sonly);
	*rc = interleave(&pin, &sonly, porder, np, sorder, ns, key, &out, e);
	if (*rc < 0) {
		/* interleave fails before it moves anything */
		list_free(&pin, true);
		list_free(&sonly, true);
	} else {
		r = list_to_array(&out);
		list_free(&pin, false);
		list_free(&sonly, false);
	}
	list_free(&out, false);
	return r;
}

/*
 * Merges a patch list into an original list (upstream's mergeSlice). Empties
 * both arrays (their elements move or are freed; the arrays stay with the
 * caller) and returns the merged array, or NULL with *rc set.
 */
static cJSON *merge_slice(cJSON *orig, cJSON *patch, const struct schema_field *f, bool delete_list,
                          struct ctx *c, int *rc)
{
	struct list o = { 0 }, p = { 0 }, merged = { 0 }, plain = { 0 }, porder = { 0 };
	const char *key = f ? f->smp_key : NULL;
	const struct schema_type *et = f ? f->type : NULL;
	cJSON *result = NULL;
	bool replace = false;
	int k;

	if ((*rc = element_kind(orig, patch, &k, c->e)) < 0)
		return NULL;
	list_from(&o, orig);
	list_from(&p, patch);
	if (o.n == 0 && p.n == 0) {
		result = jarr();
		goto out;
	}

	if (k != cJSON_Object) {
		if (delete_list) {
			/* $deleteFromPrimitiveList: drop every occurrence; no reordering. */
			for (size_t i = 0; i < o.n; i++)
				if (index_of(p.v, p.n, o.v[i], NULL) < 0)
					list_push(&merged, obj_dup(o.v[i]));
			result = list_to_array(&merged);
			goto out;
		}
		/* A set union in which the first occurrence stays. */
		for (size_t i = 0; i < o.n + p.n; i++) {
			cJSON *v = i < o.n ? o.v[i] : p.v[i - o.n];
			if (index_of(merged.v, merged.n, v, NULL) < 0)
				list_push(&merged, obj_dup(v));
		}
		result = ordered(&merged, p.v, p.n, o.v, o.n, NULL, c->e, rc);
		goto out;
	}

	if (!key) {
		*rc = err_set(c->e, -EINVAL, "cannot merge lists without merge key for %s",
		              f && f->name ? f->name : "this list");
		goto out;
	}
	/* Special elements first: {$patch: delete, <key>: v} and {$patch: replace}. */
	for (size_t i = 0; i < p.n; i++) {
		const cJSON *d = obj_child(p.v[i], DIRECTIVE);
		if (!d) {
			list_push(&plain, p.v[i]);
			continue;
		}
		if (strcmp(d->valuestring, "delete") == 0) {
			if (!obj_child(p.v[i], key)) {
				*rc = no_merge_key(p.v[i], key, c->e);
				goto out;
			}
			for (size_t j = 0; j < o.n;) {
				if (!same_item(o.v[j], p.v[i], key)) {
					j++;
					continue;
				}
				cJSON_Delete(o.v[j]);
				memmove(&o.v[j], &o.v[j + 1], (o.n - j - 1) * sizeof(*o.v));
				o.n--;
			}
		} else if (strcmp(d->valuestring, "replace") == 0) {
			replace = true;
		} else if (strcmp(d->valuestring, "merge") == 0) {
			*rc = err_set(c->e, -EINVAL,
			              "merging lists cannot yet be specified in the patch");
			goto out;
		} else {
			*rc = err_set(c->e, -EINVAL, "unknown patch type: %.40s in list",
			              d->valuestring);
			goto out;
		}
	}
	if (replace) {
		/* The list becomes the patch's plain elements, in their order. */
		for (size_t i = 0; i < o.n; i++)
			cJSON_Delete(o.v[i]);
		o.n = 0;
		for (size_t i = 0; i < plain.n; i++) {
			cJSON *v = obj_dup(plain.v[i]);
			if (clean(v))
				list_push(&o, v);
			else
				cJSON_Delete(v);
		}
		plain.n = 0;
	}
	/* The patch order, by identity only: merging takes the items' fields away. */
	for (size_t i = 0; !replace && i < plain.n; i++) {
		cJSON *id = jobj();
		const cJSON *kv = obj_child(plain.v[i], key);
		if (kv)
			jadd(id, key, obj_dup(kv));
		list_push(&porder, id);
	}
	/* Items with a key already in the list merge into it; the rest are appended. */
	for (size_t i = 0; i < o.n; i++)
		list_push(&merged, o.v[i]);
	size_t nserver = o.n;
	o.n = 0; /* the nodes belong to merged now */
	for (size_t i = 0; i < plain.n; i++) {
		if (!obj_child(plain.v[i], key)) {
			*rc = no_merge_key(plain.v[i], key, c->e);
			goto out;
		}
		long at = index_of(merged.v, merged.n, plain.v[i], key);
		if (at >= 0) {
			cJSON *m = merge_map(merged.v[at], plain.v[i], et, c, rc);
			if (m != merged.v[at]) {
				cJSON_Delete(merged.v[at]);
				merged.v[at] = m;
			}
			if (*rc < 0)
				goto out;
		} else {
			cJSON *v = obj_dup(plain.v[i]);
			if (clean(v))
				list_push(&merged, v);
			else
				cJSON_Delete(v);
		}
	}
	/* The server order is the live list after deletions: the first nserver items. */
	struct list server = { 0 };
	for (size_t i = 0; i < nserver; i++)
		list_push(&server, merged.v[i]);
	result = ordered(&merged, porder.v, porder.n, server.v, server.n, key, c->e, rc);
	list_free(&server, false);
out:
	list_free(&o, true);
	list_free(&p, true);
	list_free(&merged, true);
	list_free(&plain, false);
	list_free(&porder, true);
	return result;
}

/* ---- $setElementOrder --------------------------------------------------------------- */

/* The patch list's items (minus deletes) must appear in the order list, in its order. */
static int check_order(const cJSON *plist, const cJSON *order, const char *key, struct err *e)
{
	if (jlen(order) == 0 || jlen(plist) == 0)
		return 0;
	const cJSON *pi = plist->child, *oi = order->child;
	while (pi && oi) {
		if (obj_child(pi, DIRECTIVE)) {
			pi = pi->next;
			continue;
		}
		if (key && (!obj_child(pi, key) || !obj_child(oi, key)))
			return no_merge_key(obj_child(pi, key) ? oi : pi, key, e);
		if (same_item(pi, oi, key))
			pi = pi->next;
		oi = oi->next;
	}
	while (pi && obj_child(pi, DIRECTIVE))
		pi = pi->next;
	if (pi)
		return err_set(
		    e, -EINVAL,
		    "the order in the patch list does not match the $setElementOrder list");
	return 0;
}

/*
 * $setElementOrder/<list>: merges <list> from the patch (if any) and orders
 * the result: items the order list names first in its order, interleaved with
 * live-only items by their live position. Consumes the directive and the list.
 */
static int apply_set_order(cJSON *orig, cJSON *patch, const struct schema_type *t, struct ctx *c)
{
	for (cJSON *d = patch->child, *next; d; d = next) {
		next = d->next;
		if (!str_has_prefix(d->string, SET_ORDER "/"))
			continue;
		const char *name = d->string + strlen(SET_ORDER) + 1;
		const struct schema_field *f = schema_field(t, name);
		const char *key = f ? f->smp_key : NULL;
		cJSON *olist = (cJSON *)obj_child(orig, name);
		cJSON *plist = (cJSON *)obj_child(patch, name);
		cJSON *merged = NULL;
		int rc, k = -1;

		if (olist && !jis_arr(olist))
			olist = NULL; /* a non-list live value is simply replaced */
		if (plist && !jis_arr(plist))
			return err_set(c->e, -EINVAL, "%s: the patch value is not a list", name);
		if ((rc = element_kind(olist, plist, &k, c->e)) < 0)
			return rc;
		if (k < 0)
			k = d->child ? kind(d->child) : cJSON_String;
		if (k != cJSON_Object)
			key = NULL;
		else if (!key)
			return err_set(c->e, -EINVAL, "cannot order %s: it has no merge key", name);
		if ((rc = check_order(plist, d, key, c->e)) < 0)
			return rc;

		if (olist && plist && f && (f->smp & SMP_MERGE)) {
			cJSON *a = obj_dup(olist), *b = obj_dup(plist);
			merged = merge_slice(a, b, f, false, c, &rc);
			cJSON_Delete(a);
			cJSON_Delete(b);
			if (rc < 0)
				return rc;
		} else if (plist) {
			merged = obj_dup(plist);
			clean(merged);
		} else if (olist) {
			merged = obj_dup(olist);
		}
		if (merged) {
			struct list items = { 0 }, ord = { 0 }, srv = { 0 };
			list_from(&items, merged);
			cJSON_Delete(merged);
			for (cJSON *x = d->child; x; x = x->next)
				list_push(&ord, x);
			for (cJSON *x = olist ? olist->child : NULL; x; x = x->next)
				list_push(&srv, x);
			cJSON *r = ordered(&items, ord.v, ord.n, srv.v, srv.n, key, c->e, &rc);
			list_free(&items, true);
			list_free(&ord, false);
			list_free(&srv, false);
			if (rc < 0)
				return rc;
			jput(orig, name, r);
		}
		if (plist) {
			if (next == plist)
				next = plist->next;
			jremove(patch, plist);
		}
		jremove(patch, d);
	}
	return 0;
}

/* ---- maps ------------------------------------------------------------------------ */

/*
 * Merges the object patch into the object orig. Returns orig (changed in
 * place) or a new object that replaces it ($patch: replace/delete); never
 * frees orig. Consumes parts of patch.
 */
static cJSON *merge_map(cJSON *orig, cJSON *patch, const struct schema_type *t, struct ctx *c,
                        int *rc)
{
	*rc = 0;
	if (++c->depth > SMP_MAX_DEPTH) {
		*rc = err_set(c->e, -EINVAL, "patch is nested too deeply");
		c->depth--;
		return orig;
	}
	const cJSON *d = obj_child(patch, DIRECTIVE);
	if (d) {
		c->depth--;
		if (strcmp(d->valuestring, "replace") == 0) {
			/* The map becomes the patch, minus its directive. */
			cJSON *r = obj_dup(patch);
			cJSON_DeleteItemFromObjectCaseSensitive(r, DIRECTIVE);
			clean(r);
			return r;
		}
		if (strcmp(d->valuestring, "delete") == 0)
			return jobj();
		*rc = err_set(c->e, -EINVAL, "unknown patch type: %.40s in map", d->valuestring);
		return orig;
	}

	/* $retainKeys: drop live keys the list does not name. */
	const cJSON *retain = obj_child(patch, RETAIN_KEYS);
	if (retain) {
		for (const cJSON *k = patch->child; k; k = k->next) {
			if (jis_null(k) || k->string[0] == '$')
				continue;
			bool found = false;
			for (const cJSON *r = retain->child; r && !found; r = r->next)
				found = jis_str(r) && strcmp(r->valuestring, k->string) == 0;
			if (!found) {
				*rc = err_set(
				    c->e, -EINVAL,
				    "invalid patch format of retainKeys: %.100s is not listed",
				    k->string);
				goto out;
			}
		}
		for (cJSON *o = orig->child, *next; o; o = next) {
			next = o->next;
			bool found = false;
			for (const cJSON *r = retain->child; r && !found; r = r->next)
				found = jis_str(r) && strcmp(r->valuestring, o->string) == 0;
			if (!found)
				jremove(orig, o);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(patch, RETAIN_KEYS);
	}

	if ((*rc = apply_set_order(orig, patch, t, c)) < 0)
		goto out;

	for (cJSON *pv = patch->child, *next; pv; pv = next) {
		next = pv->next;
		bool delete_list = str_has_prefix(pv->string, DELETE_FROM "/");
		/* A copy: moving pv into orig frees its key. */
		_cleanup_free_ char *k =
		    xstrdup(pv->string + (delete_list ? strlen(DELETE_FROM) + 1 : 0));
		cJSON *ov = cJSON_GetObjectItemCaseSensitive(orig, k);
		if (jis_null(pv)) {
			/* null deletes; with nothing to delete it is ignored. */
			if (ov)
				jremove(orig, ov);
			continue;
		}
		if (!ov || kind(ov) != kind(pv)) {
			if (!delete_list) {
				cJSON *v = take(patch, pv);
				if (v)
					jput(orig, k, v);
				else if (ov)
					jremove(orig, ov);
			}
			continue;
		}
		const struct schema_field *f = schema_field(t, k);
		if (jis_obj(ov)) {
			if (f && (f->smp & SMP_REPLACE)) {
				cJSON *v = take(patch, pv);
				if (v)
					jput(orig, k, v);
				continue;
			}
			cJSON *m = merge_map(ov, pv, f ? f->type : NULL, c, rc);
			if (*rc < 0)
				goto out;
			if (m != ov)
				jput(orig, k, m);
		} else if (jis_arr(ov)) {
			if (delete_list || (f && (f->smp & SMP_MERGE))) {
				cJSON *m = merge_slice(ov, pv, f, delete_list, c, rc);
				if (*rc < 0)
					goto out;
				jput(orig, k, m);
			} else {
				cJSON *v = take(patch, pv);
				if (v)
					jput(orig, k, v);
			}
		} else if (!delete_list) {
			jput(orig, k, cJSON_DetachItemViaPointer(patch, pv));
		}
	}
out:
	c->depth--;
	return orig;
}

int patch_strategic(const cJSON *doc, const cJSON *patch, const struct schema_type *type,
                    cJSON **out, struct err *e)
{
	struct ctx c = { .e = e };
	int rc = 0;
	*out = NULL;
	if (!jis_obj(patch))
		return err_set(e, -EINVAL, "a strategic merge patch must be an object, not a %s",
		               jtype_name(patch));
	if (check_directives(patch, 0, e) < 0)
		return -EINVAL;
	cJSON *o = jis_obj(doc) ? obj_dup(doc) : jobj();
	cJSON *p = obj_dup(patch);
	cJSON *r = merge_map(o, p, type, &c, &rc);
	if (r != o)
		cJSON_Delete(o);
	cJSON_Delete(p);
	if (rc < 0) {
		cJSON_Delete(r);
		return rc;
	}
	*out = r;
	return 0;
}
