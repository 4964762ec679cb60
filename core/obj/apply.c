/* apply: server-side apply (merge, prune, conflicts) and metadata.managedFields bookkeeping. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/obj/obj-internal.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* ---- list item identity ------------------------------------------------------------- */

static bool list_granular(const struct schema_field *f)
{
	return f && f->list != SCH_LIST_ATOMIC;
}

static bool elem_atomic(const struct schema_field *f)
{
	return f && f->type && f->type->atomic;
}

/* The path element of a list item: k:{keys} for associative lists, v:value for sets. */
static int item_pe(const struct schema_field *f, const cJSON *item, char **pe, struct err *e)
{
	char *s;
	if (f->list == SCH_LIST_SET) {
		if (jis_container(item))
			return err_set(e, -EINVAL, "%s: set items must be scalars", f->name);
		s = obj_print(item, 0);
		*pe = xasprintf("v:%s", s);
		free(s);
		return 0;
	}
	if (!jis_obj(item))
		return err_set(e, -EINVAL, "%s: items of this list must be objects, not %s",
		               f->name, jtype_name(item));
	cJSON *k = jobj();
	for (int i = 0; i < 3 && f->keys[i]; i++) {
		const cJSON *kv = obj_child(item, f->keys[i]);
		if (kv && !jis_null(kv)) {
			if (jis_container(kv)) {
				cJSON_Delete(k);
				return err_set(e, -EINVAL, "%s: key field \"%s\" must be a scalar",
				               f->name, f->keys[i]);
			}
			jadd(k, f->keys[i], obj_dup(kv));
		} else if (f->key_defaults[i]) {
			cJSON *d = NULL;
			obj_parse(f->key_defaults[i], strlen(f->key_defaults[i]), &d, NULL);
			jadd(k, f->keys[i], d ? d : jnull());
		} else {
			cJSON_Delete(k);
			return err_set(
			    e, -EINVAL,
			    "%s: associative list with keys has an element that omits key field "
			    "\"%s\" (and doesn't have default value)",
			    f->name, f->keys[i]);
		}
	}
	s = obj_print(k, OBJ_PRINT_SORTED);
	*pe = xasprintf("k:%s", s);
	free(s);
	cJSON_Delete(k);
	return 0;
}

/* ---- the set of fields a value sets (upstream's ToFieldSet) ---------------------------- */

static int obj_to_set(const cJSON *v, const struct schema_type *t, bool map_entries, bool strict,
                      struct fs *node, struct err *e);

static int value_to_set(const cJSON *c, const struct schema_field *f, bool map_entry, bool strict,
                        struct fs *node, struct err *e)
{
	const struct schema_type *ft = f ? f->type : NULL;
	if (jis_obj(c)) {
		/* Empty and atomic objects are leaves; entries of a map are members too. */
		if (!c->child || elem_atomic(f)) {
			node->member = true;
			return 0;
		}
		if (map_entry)
			node->member = true;
		return obj_to_set(c, ft, f && f->map, strict, node, e);
	}
	if (jis_arr(c) && list_granular(f)) {
		for (const cJSON *it = c->child; it; it = it->next) {
			char *pe = NULL;
			if (item_pe(f, it, &pe, e) < 0)
				return -EINVAL;
			if (strict && fs_find(node, pe)) {
				int r = err_set(e, -EINVAL, "%s: duplicate entries for key %.200s",
				                f->name, pe + 2);
				free(pe);
				return r;
			}
			struct fs *in = fs_child(node, pe, true);
			free(pe);
			in->member = true;
			if (f->list == SCH_LIST_MAP && jis_obj(it) && !elem_atomic(f) &&
			    obj_to_set(it, ft, false, strict, in, e) < 0)
				return -EINVAL;
		}
		return 0;
	}
	node->member = true; /* scalars, null, atomic lists */
	return 0;
}

static int obj_to_set(const cJSON *v, const struct schema_type *t, bool map_entries, bool strict,
                      struct fs *node, struct err *e)
{
	for (const cJSON *c = v->child; c; c = c->next) {
		const struct schema_field *f = map_entries ? NULL : schema_field(t, c->string);
		char *pe = xasprintf("f:%s", c->string);
		struct fs *child = fs_child(node, pe, true);
		free(pe);
		if (value_to_set(c, f, map_entries, strict, child, e) < 0)
			return err_wrap(e, "%s", c->string);
	}
	return 0;
}

/* ---- comparison: what an operation added, removed and modified ------------------------- */

/*
 * Marks every path in v. Besides leaves and list items, lists and maps
 * themselves become members (upstream records ".", for example for labels
 * and ports); struct fields do not, which is what upstream's comparison
 * against a typed empty object ends up with for the usual struct fields.
 */
static void mark_all(const cJSON *v, const struct schema_field *f, bool map_entry, struct fs *node)
{
	if (jis_obj(v)) {
		if (!v->child || elem_atomic(f) || map_entry || (f && f->map))
			node->member = true;
		if (!v->child || elem_atomic(f))
			return;
		for (const cJSON *c = v->child; c; c = c->next) {
			bool entries = f && f->map;
			const struct schema_field *cf =
			    entries ? NULL : schema_field(f ? f->type : NULL, c->string);
			char *pe = xasprintf("f:%s", c->string);
			mark_all(c, cf, entries, fs_child(node, pe, true));
			free(pe);
		}
		return;
	}
	node->member = true;
	if (!jis_arr(v) || !list_granular(f))
		return;
	for (const cJSON *it = v->child; it; it = it->next) {
		char *pe = NULL;
		if (item_pe(f, it, &pe, NULL) < 0)
			continue;
		struct fs *in = fs_child(node, pe, true);
		free(pe);
		in->member = true;
		if (f->list == SCH_LIST_MAP && jis_obj(it) && !elem_atomic(f)) {
			for (const cJSON *c = it->child; c; c = c->next) {
				char *cpe = xasprintf("f:%s", c->string);
				mark_all(c, schema_field(f->type, c->string), false,
				         fs_child(in, cpe, true));
				free(cpe);
			}
		}
	}
}

struct diff {
	struct fs *added, *removed, *modified;
};

static void cmp_obj(const cJSON *a, const cJSON *b, const struct schema_type *t, bool map_entries,
                    struct fs *add, struct fs *rem, struct fs *mod);

/* Identities of a list's items; false when some item has none (compare it whole). */
static bool item_pes(const struct schema_field *f, const cJSON *l, char ***out, size_t *n)
{
	size_t len = jlen(l), i = 0;
	char **v = xcalloc(len + 1, sizeof(*v));
	for (const cJSON *it = l->child; it; it = it->next, i++)
		if (item_pe(f, it, &v[i], NULL) < 0) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return false;
		}
	*out = v;
	*n = len;
	return true;
}

static void free_pes(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static long find_pe(char *const *v, size_t n, const char *pe)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], pe) == 0)
			return (long)i;
	return -1;
}

static void cmp_list(const cJSON *a, const cJSON *b, const struct schema_field *f, struct fs *add,
                     struct fs *rem, struct fs *mod)
{
	char **pa = NULL, **pb = NULL;
	size_t na = 0, nb = 0;
	if (!item_pes(f, a, &pa, &na))
		goto whole;
	if (!item_pes(f, b, &pb, &nb)) {
		free_pes(pa, na);
		goto whole;
	}
	size_t i = 0;
	for (const cJSON *x = a->child; x; x = x->next, i++) {
		long j = find_pe(pb, nb, pa[i]);
		if (find_pe(pa, i, pa[i]) >= 0)
			continue; /* a duplicate: its first occurrence speaks for it */
		if (j < 0) {
			struct fs *in = fs_child(rem, pa[i], true);
			in->member = true;
			if (f->list == SCH_LIST_MAP && jis_obj(x) && !elem_atomic(f))
				mark_all(x, &(struct schema_field){ .type = f->type }, false, in);
			continue;
		}
		const cJSON *y = cJSON_GetArrayItem(b, (int)j);
		if (f->list == SCH_LIST_MAP && jis_obj(x) && jis_obj(y) && !elem_atomic(f))
			cmp_obj(x, y, f->type, false, fs_child(add, pa[i], true),
			        fs_child(rem, pa[i], true), fs_child(mod, pa[i], true));
		else if (!obj_equal(x, y))
			fs_child(mod, pa[i], true)->member = true;
	}
	i = 0;
	for (const cJSON *y = b->child; y; y = y->next, i++) {
		if (find_pe(pa, na, pb[i]) >= 0 || find_pe(pb, i, pb[i]) >= 0)
			continue;
		struct fs *in = fs_child(add, pb[i], true);
		in->member = true;
		if (f->list == SCH_LIST_MAP && jis_obj(y) && !elem_atomic(f))
			mark_all(y, &(struct schema_field){ .type = f->type }, false, in);
	}
	free_pes(pa, na);
	free_pes(pb, nb);
	return;
whole:
	if (!obj_equal(a, b))
		mod->member = true;
}

static void cmp_val(const cJSON *a, const cJSON *b, const struct schema_field *f, struct fs *add,
                    struct fs *rem, struct fs *mod)
{
	if (jis_obj(a) && jis_obj(b) && !elem_atomic(f) && (a->child || b->child)) {
		cmp_obj(a, b, f ? f->type : NULL, f && f->map, add, rem, mod);
		return;
	}
	if (jis_arr(a) && jis_arr(b) && list_granular(f) && (a->child || b->child)) {
		cmp_list(a, b, f, add, rem, mod);
		return;
	}
	if (!obj_equal(a, b))
		mod->member = true;
}

static void cmp_obj(const cJSON *a, const cJSON *b, const struct schema_type *t, bool map_entries,
                    struct fs *add, struct fs *rem, struct fs *mod)
{
	for (const cJSON *x = a ? a->child : NULL; x; x = x->next) {
		const struct schema_field *f = map_entries ? NULL : schema_field(t, x->string);
		const cJSON *y = obj_child(b, x->string);
		char *pe = xasprintf("f:%s", x->string);
		if (!y)
			mark_all(x, f, map_entries, fs_child(rem, pe, true));
		else
			cmp_val(x, y, f, fs_child(add, pe, true), fs_child(rem, pe, true),
			        fs_child(mod, pe, true));
		free(pe);
	}
	for (const cJSON *y = b ? b->child : NULL; y; y = y->next) {
		if (obj_child(a, y->string))
			continue;
		const struct schema_field *f = map_entries ? NULL : schema_field(t, y->string);
		char *pe = xasprintf("f:%s", y->string);
		mark_all(y, f, map_entries, fs_child(add, pe, true));
		free(pe);
	}
}

static void diff(const cJSON *a, const cJSON *b, const struct schema_type *t, struct diff *d)
{
	d->added = fs_new();
	d->removed = fs_new();
	d->modified = fs_new();
	cmp_obj(a, b, t, false, d->added, d->removed, d->modified);
	fs_compact(d->added);
	fs_compact(d->removed);
	fs_compact(d->modified);
}

static void diff_free(struct diff *d)
{
	fs_free(d->added);
	fs_free(d->removed);
	fs_free(d->modified);
}

/* ---- merge (upstream's live.Merge(config)) ---------------------------------------------- */

static void strip_nulls(cJSON *v)
{
	for (cJSON *c = jis_container(v) ? v->child : NULL, *next; c; c = next) {
		next = c->next;
		if (jis_obj(v) && jis_null(c))
			cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
		else
			strip_nulls(c);
	}
}

static cJSON *config_copy(const cJSON *v)
{
	cJSON *d = obj_dup(v);
	strip_nulls(d);
	return d;
}

static void merge_into(cJSON *l, const cJSON *r, const struct schema_type *t, bool map_entries);

/*
 * Associative lists and sets: live items keep their place, applied items
 * that share an identity merge into them, new applied items go after the
 * live item that precedes them in the applied order.
 */
static cJSON *merge_list(const cJSON *l, const cJSON *r, const struct schema_field *f)
{
	char **pl = NULL, **pr = NULL;
	size_t nl = 0, nr = 0;
	if (!item_pes(f, l, &pl, &nl))
		return config_copy(r);
	if (!item_pes(f, r, &pr, &nr)) {
		free_pes(pl, nl);
		return config_copy(r);
	}
	cJSON *out = jarr();
	size_t ri = 0, i = 0;
	const cJSON *x;
	for (x = l->child; x; x = x->next, i++) {
		long j = find_pe(pr, nr, pl[i]);
		if (j < 0) {
			jappend(out, obj_dup(x));
			continue;
		}
		for (; (long)ri <= j; ri++) {
			const cJSON *y = cJSON_GetArrayItem(r, (int)ri);
			long m = find_pe(pl, nl, pr[ri]);
			cJSON *item;
			if (m >= 0 && f->list == SCH_LIST_MAP && !elem_atomic(f) && jis_obj(y)) {
				item = obj_dup(cJSON_GetArrayItem(l, (int)m));
				merge_into(item, y, f->type, false);
			} else {
				item = config_copy(y);
			}
			jappend(out, item);
		}
	}
	for (; ri < nr; ri++)
		jappend(out, config_copy(cJSON_GetArrayItem(r, (int)ri)));
	free_pes(pl, nl);
	free_pes(pr, nr);
	return out;
}

static void merge_into(cJSON *l, const cJSON *r, const struct schema_type *t, bool map_entries)
{
	for (const cJSON *y = r->child; y; y = y->next) {
		cJSON *x = cJSON_GetObjectItemCaseSensitive(l, y->string);
		if (jis_null(y)) {
			/* Applying null owns the field and clears it. */
			if (x)
				cJSON_Delete(cJSON_DetachItemViaPointer(l, x));
			continue;
		}
		const struct schema_field *f = map_entries ? NULL : schema_field(t, y->string);
		if (jis_obj(x) && jis_obj(y) && !elem_atomic(f))
			merge_into(x, y, f ? f->type : NULL, f && f->map);
		else if (jis_arr(x) && jis_arr(y) && list_granular(f))
			jput(l, y->string, merge_list(x, y, f));
		else
			jput(l, y->string, config_copy(y));
	}
}

/* ---- prune: what the applier applied before and no longer does ------------------------- */

/* Makes struct fields leading to members members themselves (EnsureNamedFieldsAreMembers). */
static void ensure_named(struct fs *s, const struct schema_type *t, bool map_entries,
                         const struct schema_field *self)
{
	for (size_t i = 0; i < s->n; i++) {
		struct fs *k = s->kids[i];
		if (k->pe[0] == 'f') {
			const struct schema_field *f =
			    map_entries ? NULL : schema_field(t, k->pe + 2);
			if (!map_entries && k->n)
				k->member = true;
			ensure_named(k, f ? f->type : NULL, f && f->map, f);
		} else {
			ensure_named(k, self ? self->type : NULL, false, NULL);
		}
	}
}

static void prune_obj(cJSON *o, const struct fs *last, const struct fs *keep,
                      const struct schema_type *t, bool map_entries);

static void prune_list(cJSON *l, const struct fs *last, const struct fs *keep,
                       const struct schema_field *f)
{
	for (cJSON *it = l->child, *next; it; it = next) {
		next = it->next;
		char *pe = NULL;
		if (item_pe(f, it, &pe, NULL) < 0)
			continue;
		const struct fs *ic = fs_find(last, pe), *ik = keep ? fs_find(keep, pe) : NULL;
		free(pe);
		if (!ic)
			continue;
		if (ic->member && !(ik && ik->member))
			cJSON_Delete(cJSON_DetachItemViaPointer(l, it));
		else if (ic->n && jis_obj(it) && f->list == SCH_LIST_MAP)
			prune_obj(it, ic, ik, f->type, false);
	}
}

static void prune_obj(cJSON *o, const struct fs *last, const struct fs *keep,
                      const struct schema_type *t, bool map_entries)
{
	for (size_t i = 0; i < last->n; i++) {
		const struct fs *c = last->kids[i];
		if (c->pe[0] != 'f')
			continue;
		cJSON *v = cJSON_GetObjectItemCaseSensitive(o, c->pe + 2);
		if (!v)
			continue;
		const struct fs *k = keep ? fs_find(keep, c->pe) : NULL;
		if (c->member && !(k && k->member)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(o, v));
			continue;
		}
		if (!c->n)
			continue;
		const struct schema_field *f = map_entries ? NULL : schema_field(t, c->pe + 2);
		bool had = v->child != NULL;
		if (jis_obj(v))
			prune_obj(v, c, k, f ? f->type : NULL, f && f->map);
		else if (jis_arr(v) && list_granular(f))
			prune_list(v, c, k, f);
		/* What pruning emptied goes, as upstream's typed round trip drops it. */
		if (had && !v->child)
			cJSON_Delete(cJSON_DetachItemViaPointer(o, v));
	}
}

/* ---- managedFields ------------------------------------------------------------------- */

struct entry {
	char *manager, *operation, *api_version, *time, *subresource;
	struct fs *set;
};

struct managed {
	struct entry *v;
	size_t n;
};

static void managed_free(struct managed *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].manager);
		free(m->v[i].operation);
		free(m->v[i].api_version);
		free(m->v[i].time);
		free(m->v[i].subresource);
		fs_free(m->v[i].set);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

static struct entry *managed_add(struct managed *m, const char *manager, const char *op,
                                 const char *api_version, const char *subresource)
{
	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	struct entry *en = &m->v[m->n++];
	memset(en, 0, sizeof(*en));
	en->manager = dup_or_empty(manager);
	en->operation = dup_or_empty(op);
	en->api_version = dup_or_empty(api_version);
	en->subresource = dup_or_empty(subresource);
	en->set = fs_new();
	return en;
}

static int managed_decode(const cJSON *mf, struct managed *m, struct err *e)
{
	memset(m, 0, sizeof(*m));
	if (!mf || jis_null(mf))
		return 0;
	if (!jis_arr(mf))
		return err_set(e, -EINVAL, "metadata.managedFields must be a list");
	size_t i = 0;
	for (const cJSON *x = mf->child; x; x = x->next, i++) {
		const char *type = obj_get_str(x, "fieldsType");
		if (!jis_obj(x) || !obj_get_str(x, "manager") || !obj_get_str(x, "operation") ||
		    (type && strcmp(type, "FieldsV1") != 0)) {
			managed_free(m);
			return err_set(e, -EINVAL,
			               "metadata.managedFields[%zu]: needs manager, operation and "
			               "fieldsType FieldsV1",
			               i);
		}
		struct entry *en =
		    managed_add(m, obj_get_str(x, "manager"), obj_get_str(x, "operation"),
		                obj_get_str(x, "apiVersion"), obj_get_str(x, "subresource"));
		const char *t = obj_get_str(x, "time");
		en->time = t ? xstrdup(t) : NULL;
		fs_free(en->set);
		if (fs_from_json(obj_child(x, "fieldsV1"), &en->set, e) < 0) {
			en->set = fs_new();
			managed_free(m);
			return err_wrap(e, "metadata.managedFields[%zu].fieldsV1", i);
		}
	}
	return 0;
}

static int64_t entry_seconds(const struct entry *en)
{
	int64_t s = 0;
	if (!en->time || obj_time_parse(en->time, &s, NULL, NULL) < 0)
		return 0;
	return s;
}

/* Upstream's order: operation, time, manager, apiVersion, subresource. */
static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->operation, y->operation);
	if (c)
		return c;
	int64_t tx = entry_seconds(x), ty = entry_seconds(y);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	if ((c = strcmp(x->manager, y->manager)))
		return c;
	if ((c = strcmp(x->api_version, y->api_version)))
		return c;
	return strcmp(x->subresource, y->subresource);
}

static cJSON *managed_encode(struct managed *m)
{
	cJSON *arr = jarr();
	for (size_t i = 0; i < m->n;) {
		/* Entries that own nothing go. */
		fs_compact(m->v[i].set);
		if (fs_empty(m->v[i].set)) {
			struct entry *en = &m->v[i];
			free(en->manager);
			free(en->operation);
			free(en->api_version);
			free(en->time);
			free(en->subresource);
			fs_free(en->set);
			memmove(en, en + 1, (m->n - i - 1) * sizeof(*m->v));
			m->n--;
			continue;
		}
		i++;
	}
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
	for (size_t i = 0; i < m->n; i++) {
		struct entry *en = &m->v[i];
		cJSON *o = jobj();
		jadd(o, "manager", jstr(en->manager));
		jadd(o, "operation", jstr(en->operation));
		if (*en->api_version)
			jadd(o, "apiVersion", jstr(en->api_version));
		if (en->time)
			jadd(o, "time", jstr(en->time));
		jadd(o, "fieldsType", jstr("FieldsV1"));
		jadd(o, "fieldsV1", fs_to_json(en->set));
		if (*en->subresource)
			jadd(o, "subresource", jstr(en->subresource));
		jappend(arr, o);
	}
	return arr;
}

/* An entry is a manager's: Apply entries by name and subresource, Update ones also by version. */
static struct entry *managed_find(struct managed *m, const char *manager, const char *op,
                                  const char *api_version, const char *subresource)
{
	for (size_t i = 0; i < m->n; i++) {
		struct entry *en = &m->v[i];
		if (strcmp(en->manager, manager) == 0 && strcmp(en->operation, op) == 0 &&
		    strcmp(en->subresource, subresource ? subresource : "") == 0 &&
		    (strcmp(op, "Apply") == 0 || strcmp(en->api_version, api_version) == 0))
			return en;
	}
	return NULL;
}

/* Paths never recorded as owned (upstream's stripMeta). */
static void strip_meta(struct fs *s)
{
	static const char *const top[] = { "f:apiVersion", "f:kind" };
	static const char *const meta[] = {
		"f:name",        "f:namespace",  "f:creationTimestamp", "f:selfLink",       "f:uid",
		"f:clusterName", "f:generation", "f:managedFields",     "f:resourceVersion"
	};
	for (size_t i = 0; i < ARRAY_SIZE(top); i++) {
		struct fs *c = fs_child(s, top[i], false);
		if (c)
			c->member = false;
	}
	struct fs *m = fs_child(s, "f:metadata", false);
	if (m) {
		m->member = false;
		for (size_t i = 0; i < ARRAY_SIZE(meta); i++) {
			struct fs *c = fs_child(m, meta[i], false);
			if (c)
				c->member = false;
		}
	}
	fs_compact(s);
}

static struct fs *ignore_set(const struct apply_opts *o)
{
	struct fs *s = fs_new();
	for (const char *const *p = o->ignore; p && *p; p++) {
		char *pe = xasprintf("f:%s", *p);
		fs_child(s, pe, true)->member = true;
		free(pe);
	}
	return s;
}

static void now_rfc3339(const struct apply_opts *o, char out[32])
{
	if (o->time) {
		snprintf(out, 32, "%s", o->time);
		return;
	}
	obj_time_format((int64_t)time(NULL), out);
}

/* The object without metadata.managedFields (a copy). */
static cJSON *bare(const cJSON *v)
{
	cJSON *d = jis_obj(v) ? obj_dup(v) : jobj();
	cJSON *meta = (cJSON *)obj_child(d, "metadata");
	if (jis_obj(meta))
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
	return d;
}

static void set_managed(cJSON *obj, struct managed *m)
{
	cJSON *arr = managed_encode(m);
	cJSON *meta = (cJSON *)obj_child(obj, "metadata");
	if (!jis_obj(meta)) {
		meta = jobj();
		jput(obj, "metadata", meta);
	}
	if (jlen(arr) == 0) {
		cJSON_Delete(arr);
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "managedFields");
		return;
	}
	jput(meta, "managedFields", arr);
}

/* ---- conflicts ------------------------------------------------------------------------ */

void apply_conflicts_free(struct apply_conflicts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].manager);
		free(c->v[i].operation);
		free(c->v[i].api_version);
		free(c->v[i].subresource);
		free(c->v[i].path);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

struct collect {
	struct apply_conflicts *c;
	const struct entry *en;
};

static void collect_path(void *ctx, const char *path)
{
	struct collect *cc = ctx;
	struct apply_conflicts *c = cc->c;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	struct apply_conflict *x = &c->v[c->n++];
	x->manager = xstrdup(cc->en->manager);
	x->operation = xstrdup(cc->en->operation);
	x->api_version = xstrdup(cc->en->api_version);
	x->subresource = xstrdup(cc->en->subresource);
	x->path = xstrdup(path);
}

static void describe_manager(struct buf *b, const struct apply_conflict *x)
{
	buf_printf(b, "\"%s\"", x->manager);
	if (*x->subresource)
		buf_printf(b, " with subresource \"%s\"", x->subresource);
	if (strcmp(x->operation, "Update") == 0 && *x->api_version)
		buf_printf(b, " using %s", x->api_version);
}

char *apply_conflicts_message(const struct apply_conflicts *c)
{
	struct buf b = { 0 };
	buf_adds(&b, "");
	if (!c || c->n == 0)
		return buf_steal(&b);
	if (c->n == 1) {
		buf_adds(&b, "Apply failed with 1 conflict: conflict with ");
		describe_manager(&b, &c->v[0]);
		buf_printf(&b, ": %s", c->v[0].path);
		return buf_steal(&b);
	}
	buf_printf(&b, "Apply failed with %zu conflicts: ", c->n);
	/* Grouped by manager, managers in name order as upstream prints them. */
	bool *done = xcalloc(c->n, sizeof(*done));
	for (bool first = true;; first = false) {
		size_t pick = c->n;
		for (size_t i = 0; i < c->n; i++)
			if (!done[i] &&
			    (pick == c->n || strcmp(c->v[i].manager, c->v[pick].manager) < 0))
				pick = i;
		if (pick == c->n)
			break;
		if (!first)
			buf_addc(&b, '\n');
		buf_adds(&b, "conflicts with ");
		describe_manager(&b, &c->v[pick]);
		buf_addc(&b, ':');
		for (size_t i = 0; i < c->n; i++)
			if (!done[i] && strcmp(c->v[i].manager, c->v[pick].manager) == 0 &&
			    strcmp(c->v[i].operation, c->v[pick].operation) == 0) {
				buf_printf(&b, "\n- %s", c->v[i].path);
				done[i] = true;
			}
	}
	free(done);
	return buf_steal(&b);
}

/* ---- the operations ------------------------------------------------------------------- */

/*
 * Fields that the last-applied annotation of client-side apply says the
 * "kubectl" manager set, where the live object still has those values: a
 * server-side apply by kubectl may take them over without --force-conflicts
 * (upstream's lastAppliedManager).
 */
static struct fs *last_applied_fields(const cJSON *live, const char *api_version,
                                      const struct schema_type *t)
{
	const char *la = obj_get_str(live, "metadata.annotations.kubectl\\.kubernetes\\.io/"
	                                   "last-applied-configuration");
	cJSON *v = NULL;
	if (!la || !*la || obj_parse(la, strlen(la), &v, NULL) < 0 || !jis_obj(v) ||
	    !obj_get_str(v, "apiVersion") ||
	    strcmp(obj_get_str(v, "apiVersion"), api_version) != 0) {
		cJSON_Delete(v);
		return NULL;
	}
	struct fs *s = fs_new();
	struct diff d;
	cJSON *lb = bare(live);
	if (obj_to_set(v, t, false, false, s, NULL) < 0) {
		fs_free(s);
		cJSON_Delete(v);
		cJSON_Delete(lb);
		return NULL;
	}
	diff(v, lb, t, &d);
	fs_subtract(s, d.modified);
	fs_subtract(s, d.added);
	fs_subtract(s, d.removed);
	fs_compact(s);
	diff_free(&d);
	cJSON_Delete(v);
	cJSON_Delete(lb);
	return s;
}

static int apply_once(const cJSON *live, const cJSON *config, const struct schema_type *t,
                      const struct apply_opts *o, bool force, cJSON **out,
                      struct apply_conflicts *conflicts, struct fs **conflict_set, struct err *e)
{
	struct managed m = { 0 };
	struct fs *newset = fs_new(), *ign = ignore_set(o), *keep = NULL, *last = NULL;
	cJSON *lb = bare(live), *merged = NULL, *cfg = obj_dup(config);
	struct diff d = { 0 };
	const char *api_version = obj_get_str(config, "apiVersion");
	const char *sub = o->subresource ? o->subresource : "";
	int rc = 0;

	if ((rc = managed_decode(obj_get(live, "metadata.managedFields"), &m, e)) < 0)
		goto out;
	/* Ignored fields (status on the main resource, ...) are neither merged nor owned. */
	for (const char *const *p = o->ignore; p && *p; p++)
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, *p);
	if ((rc = obj_to_set(cfg, t, false, true, newset, e)) < 0) {
		err_wrap(e, "invalid applied object");
		goto out;
	}
	merged = obj_dup(lb);
	merge_into(merged, cfg, t, false);

	/* Prune what this manager applied last time and no one else claims now. */
	struct entry *mine = managed_find(&m, o->manager, "Apply", api_version, sub);
	if (mine && !fs_empty(mine->set)) {
		last = fs_dup(mine->set);
		ensure_named(last, t, false, NULL);
		keep = fs_dup(newset);
		for (size_t i = 0; i < m.n; i++)
			if (&m.v[i] != mine)
				fs_union(keep, m.v[i].set);
		ensure_named(keep, t, false, NULL);
		prune_obj(merged, last, keep, t, false);
	}

	diff(lb, merged, t, &d);
	fs_subtract_recursive(d.added, ign);
	fs_subtract_recursive(d.modified, ign);
	fs_subtract_recursive(d.removed, ign);
	struct fs *changed = fs_dup(d.added);
	fs_union(changed, d.modified);

	/* Others owning what this apply changes conflict, unless forced. */
	for (size_t i = 0; i < m.n; i++) {
		struct entry *en = &m.v[i];
		if (en == mine)
			continue;
		struct fs *c = fs_intersect(en->set, changed);
		fs_compact(c);
		if (!fs_empty(c)) {
			if (force) {
				fs_subtract(en->set, c);
			} else {
				struct collect cc = { conflicts, en };
				fs_each_path(c, collect_path, &cc);
				if (conflict_set)
					fs_union(*conflict_set, c);
				rc = APPLY_E_CONFLICT;
			}
		}
		fs_free(c);
	}
	fs_free(changed);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < m.n; i++)
		if (&m.v[i] != mine)
			fs_subtract(m.v[i].set, d.removed);

	/* This manager now owns exactly what it applied. */
	char now[32];
	now_rfc3339(o, now);
	bool object_changed = !obj_equal(lb, merged);
	if (!mine)
		mine = managed_add(&m, o->manager, "Apply", api_version, sub);
	fs_free(mine->set);
	mine->set = newset;
	newset = NULL;
	fs_subtract_recursive(mine->set, ign);
	strip_meta(mine->set);
	free(mine->api_version);
	mine->api_version = dup_or_empty(api_version);
	if (object_changed || !mine->time) {
		free(mine->time);
		mine->time = xstrdup(now);
	}

	/* kubectl's own server-side apply keeps its client-side annotation current. */
	if (strcmp(o->manager, "kubectl") == 0 &&
	    obj_get_str(lb, "metadata.annotations.kubectl\\.kubernetes\\.io/"
	                    "last-applied-configuration")) {
		cJSON *la = obj_dup(config);
		obj_delete(la, "metadata.annotations.kubectl\\.kubernetes\\.io/"
		               "last-applied-configuration");
		char *text = obj_print(la, OBJ_PRINT_SORTED);
		char *nl = xasprintf("%s\n", text);
		obj_set_str(
		    merged,
		    "metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration", nl,
		    NULL);
		free(nl);
		free(text);
		cJSON_Delete(la);
	}
	set_managed(merged, &m);
	*out = merged;
	merged = NULL;
out:
	diff_free(&d);
	fs_free(newset);
	fs_free(ign);
	fs_free(keep);
	fs_free(last);
	managed_free(&m);
	cJSON_Delete(lb);
	cJSON_Delete(merged);
	cJSON_Delete(cfg);
	return rc;
}

int apply_server_side(const cJSON *live, const cJSON *config, const struct schema_type *type,
                      const struct apply_opts *o, cJSON **out, struct apply_conflicts *conflicts,
                      struct err *e)
{
	struct apply_conflicts local = { 0 };
	struct apply_conflicts *c = conflicts ? conflicts : &local;
	struct fs *cset = fs_new();
	int rc;

	*out = NULL;
	memset(c, 0, sizeof(*c));
	if (!o || !o->manager || !*o->manager) {
		rc = err_set(e, -EINVAL, "fieldManager is required for apply requests");
		goto out;
	}
	if (!jis_obj(config)) {
		rc = err_set(e, -EINVAL, "the applied configuration must be an object, not a %s",
		             jtype_name(config));
		goto out;
	}
	if (!obj_get_str(config, "apiVersion") || !obj_get_str(config, "kind")) {
		rc = err_set(e, -EINVAL, "the applied configuration must set apiVersion and kind");
		goto out;
	}
	const cJSON *mf = obj_get(config, "metadata.managedFields");
	if (mf && !jis_null(mf)) {
		rc = err_set(e, -EINVAL, "metadata.managedFields must be nil");
		goto out;
	}
	rc = apply_once(live, config, type, o, o->force, out, c, &cset, e);
	if (rc == APPLY_E_CONFLICT && strcmp(o->manager, "kubectl") == 0) {
		/* Fields client-side apply set and still holds may move over to kubectl. */
		struct fs *allowed =
		    last_applied_fields(live, obj_get_str(config, "apiVersion"), type);
		if (allowed) {
			struct fs *rest = fs_dup(cset);
			fs_subtract(rest, allowed);
			fs_compact(rest);
			if (fs_empty(rest)) {
				apply_conflicts_free(c);
				rc = apply_once(live, config, type, o, true, out, c, NULL, e);
			}
			fs_free(rest);
			fs_free(allowed);
		}
	}
	if (rc == APPLY_E_CONFLICT) {
		char *msg = apply_conflicts_message(c);
		err_set(e, rc, "%s", msg);
		free(msg);
	}
out:
	fs_free(cset);
	if (c == &local)
		apply_conflicts_free(&local);
	return rc;
}

int apply_track_update(const cJSON *old, cJSON *obj, const struct schema_type *type,
                       const struct apply_opts *o, struct err *e)
{
	struct managed m = { 0 };
	struct diff d = { 0 };
	struct fs *ign = NULL;
	cJSON *ob = NULL, *nb = NULL;
	const char *api_version = obj_get_str(obj, "apiVersion");
	const char *sub = o && o->subresource ? o->subresource : "";
	int rc;

	if (!o || !o->manager || !*o->manager)
		return err_set(e, -EINVAL, "a field manager is required");
	if (!jis_obj(obj))
		return err_set(e, -EINVAL, "the object must be an object");
	/*
	 * Managed fields the client sent win, unless it sent none (or wrote a
	 * subresource). A list holding one empty entry is the documented way to
	 * reset them: ownership starts over from this write.
	 */
	const cJSON *sent = obj_get(obj, "metadata.managedFields");
	bool reset = jlen(sent) == 1 && jis_obj(sent->child) && !sent->child->child;
	if (reset)
		rc = 0;
	else if (!*sub && jlen(sent) > 0)
		rc = managed_decode(sent, &m, e);
	else
		rc = managed_decode(obj_get(old, "metadata.managedFields"), &m, e);
	if (rc < 0)
		return rc;
	ign = ignore_set(o);
	ob = bare(old);
	nb = bare(obj);
	diff(ob, nb, type, &d);
	fs_subtract_recursive(d.added, ign);
	fs_subtract_recursive(d.modified, ign);
	fs_subtract_recursive(d.removed, ign);

	struct fs *took = fs_dup(d.added);
	fs_union(took, d.modified);
	struct entry *mine =
	    managed_find(&m, o->manager, "Update", api_version ? api_version : "", sub);
	for (size_t i = 0; i < m.n; i++) {
		if (&m.v[i] == mine)
			continue;
		/* An update forces: what it changed is its alone. */
		fs_subtract(m.v[i].set, took);
		fs_subtract(m.v[i].set, d.removed);
	}
	strip_meta(took);
	if (!fs_empty(took) || mine) {
		char now[32];
		now_rfc3339(o, now);
		if (!mine)
			mine = managed_add(&m, o->manager, "Update", api_version, sub);
		fs_subtract(mine->set, d.removed);
		fs_union(mine->set, took);
		strip_meta(mine->set);
		if (!fs_empty(took) || !mine->time) {
			free(mine->time);
			mine->time = xstrdup(now);
		}
	}
	fs_free(took);
	set_managed(obj, &m);
	diff_free(&d);
	fs_free(ign);
	managed_free(&m);
	cJSON_Delete(ob);
	cJSON_Delete(nb);
	return 0;
}
