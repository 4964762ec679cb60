/* schema openapi: the Swagger 2.0 and OpenAPI 3.0 documents, generated from the table once. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/schema/schema-internal.h"
#include "core/schema/schema.h"

/*
 * The documents are written straight into a buffer rather than built as a cJSON tree: the v2
 * document has a few thousand nodes and we only ever print it. Commas are placed by looking at
 * the last byte written (no comma right after '{' or '['), which keeps the writers short.
 */

struct doc {
	char *text;
	size_t len;
	char etag[20]; /* "\"" + 16 hex + "\"" */
};

static pthread_mutex_t doc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct doc doc_v2, doc_v3index;
static struct doc *doc_v3; /* per package, indexed like model->pkgs */
static const char **gvs;   /* "api/v1", "apis/apps/v1", ... */
static int *gv_pkg;        /* package of each gvs entry */
static size_t ngvs;

static void sep(struct buf *b)
{
	if (b->len && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[' &&
	    b->data[b->len - 1] != ':')
		buf_addc(b, ',');
}

static void jstr(struct buf *b, const char *p, size_t n)
{
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

static void key(struct buf *b, const char *k)
{
	sep(b);
	buf_printf(b, "\"%s\":", k);
}

/* A key that is not a C literal: a field name, a path. */
static void keyn(struct buf *b, const char *k, size_t n)
{
	sep(b);
	jstr(b, k, n);
	buf_addc(b, ':');
}

static void kv(struct buf *b, const char *k, const char *v)
{
	key(b, k);
	jstr(b, v, strlen(v));
}

static void kvs(struct buf *b, const char *k, struct sstr v)
{
	key(b, k);
	jstr(b, v.p, v.n);
}

/* io.k8s.api.core.v1.Pod, io.k8s.api.core.v1.PodList */
static void full_name(struct buf *b, const struct model *m, const struct stype *t)
{
	const struct spkg *p = &m->pkgs[t->pkg];
	buf_printf(b, "%.*s.%.*s%s", (int)p->name.n, p->name.p, (int)t->name.n, t->name.p,
	           t->flags & TF_ISLIST ? "List" : "");
}

static void ref(struct buf *b, const struct model *m, int type, bool v3)
{
	key(b, "$ref");
	buf_adds(b, v3 ? "\"#/components/schemas/" : "\"#/definitions/");
	full_name(b, m, &m->types[type]);
	buf_addc(b, '"');
}

/* group and version of a package's apiVersion ("v1" -> "", "v1"). */
static void split_gv(struct sstr gv, struct sstr *group, struct sstr *version)
{
	const char *slash = memchr(gv.p, '/', gv.n);
	*group = slash ? (struct sstr){ gv.p, (uint32_t)(slash - gv.p) } : (struct sstr){ "", 0 };
	*version = slash ? (struct sstr){ slash + 1, gv.n - group->n - 1 } : gv;
}

static void gvk(struct buf *b, const struct model *m, const struct stype *t)
{
	struct sstr g, v;
	split_gv(m->pkgs[t->pkg].gv, &g, &v);
	buf_addc(b, '{');
	kvs(b, "group", g);
	key(b, "kind");
	buf_printf(b, "\"%.*s%s\"", (int)t->name.n, t->name.p, t->flags & TF_ISLIST ? "List" : "");
	kvs(b, "version", v);
	buf_addc(b, '}');
}

static void enums(struct buf *b, struct sstr e)
{
	key(b, "enum");
	buf_addc(b, '[');
	const char *p = e.p, *end = e.p + e.n;
	for (;;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		if (!c)
			c = end;
		sep(b);
		/* '~' stands for a space: values like "digital signature" are one token in the table */
		size_t at = b->len;
		jstr(b, p, (size_t)(c - p));
		for (size_t i = at; i < b->len; i++)
			if (b->data[i] == '~')
				b->data[i] = ' ';
		if (c == end)
			break;
		p = c + 1;
	}
	buf_addc(b, ']');
}

/* The value keys of a field below `level` wrappers (no braces around the outermost level). */
static void value(struct buf *b, const struct model *m, const struct sfield *f, int level, bool v3)
{
	if (level < f->nwrap) {
		bool arr = f->wrap[level] == WRAP_ARRAY;
		kv(b, "type", arr ? "array" : "object");
		key(b, arr ? "items" : "additionalProperties");
		buf_addc(b, '{');
		value(b, m, f, level + 1, v3);
		buf_addc(b, '}');
		return;
	}
	switch (f->base) {
	case BASE_STRING:
		kv(b, "type", "string");
		if (f->enums.p)
			enums(b, f->enums);
		break;
	case BASE_BOOL:
		kv(b, "type", "boolean");
		break;
	case BASE_INT32:
	case BASE_INT64:
		kv(b, "type", "integer");
		kv(b, "format", f->base == BASE_INT32 ? "int32" : "int64");
		break;
	case BASE_NUMBER:
		kv(b, "type", "number");
		kv(b, "format", "double");
		break;
	case BASE_BYTE:
		kv(b, "type", "string");
		kv(b, "format", "byte");
		break;
	case BASE_ANY:
		kv(b, "type", "object");
		break;
	case BASE_REF:
		/* OpenAPI 3.0 ignores siblings of $ref, so upstream wraps a described ref in allOf. */
		if (v3 && level == 0) {
			key(b, "allOf");
			buf_adds(b, "[{");
			ref(b, m, f->ref, v3);
			buf_adds(b, "}]");
		} else
			ref(b, m, f->ref, v3);
		break;
	}
}

static void field(struct buf *b, const struct model *m, const struct sfield *f, bool v3)
{
	static const char *const list_types[] = { NULL, "atomic", "set", "map" };
	keyn(b, f->name.p, f->name.n);
	buf_addc(b, '{');
	if (f->desc.n)
		kvs(b, "description", f->desc);
	value(b, m, f, 0, v3);
	if (f->list_type) {
		if (f->lkeys[0]) {
			key(b, "x-kubernetes-list-map-keys");
			buf_addc(b, '[');
			for (int i = 0; f->lkeys[i]; i++) {
				sep(b);
				jstr(b, f->lkeys[i], strlen(f->lkeys[i]));
			}
			buf_addc(b, ']');
		}
		kv(b, "x-kubernetes-list-type", list_types[f->list_type]);
	}
	if (f->map_type)
		kv(b, "x-kubernetes-map-type", f->map_type == MAPT_ATOMIC ? "atomic" : "granular");
	if (f->key)
		kv(b, "x-kubernetes-patch-merge-key", f->key);
	if (f->strategy)
		kv(b, "x-kubernetes-patch-strategy",
		   f->strategy == (STRAT_MERGE | STRAT_RETAIN) ? "merge,retainKeys"
		   : f->strategy == STRAT_MERGE                ? "merge"
		                                               : "retainKeys");
	buf_addc(b, '}');
}

static void type_schema(struct buf *b, const struct model *m, int ti, bool v3)
{
	const struct stype *t = &m->types[ti];
	sep(b);
	buf_addc(b, '"');
	full_name(b, m, t); /* [A-Za-z0-9.]: nothing to escape */
	buf_adds(b, "\":{");
	if (t->desc.n)
		kvs(b, "description", t->desc);
	switch (t->shape) {
	case SHAPE_TIME:
	case SHAPE_MTIME:
		kv(b, "type", "string");
		kv(b, "format", "date-time");
		break;
	case SHAPE_INTSTR:
		kv(b, "format", "int-or-string");
		if (v3) {
			key(b, "oneOf");
			buf_adds(b, "[{\"type\":\"integer\"},{\"type\":\"string\"}]");
		} else
			kv(b, "type", "string");
		break;
	case SHAPE_QTY:
		if (v3) {
			key(b, "oneOf");
			buf_adds(b, "[{\"type\":\"string\"},{\"type\":\"number\"}]");
		} else
			kv(b, "type", "string");
		break;
	case SHAPE_ANY:
		kv(b, "type", "object");
		break;
	default:
		kv(b, "type", "object");
		key(b, "properties");
		buf_addc(b, '{');
		for (uint32_t i = 0; i < t->nfields; i++)
			field(b, m, &m->fields[t->first + i], v3);
		buf_addc(b, '}');
		bool any = false;
		for (uint32_t i = 0; i < t->nfields; i++) {
			const struct sfield *f = &m->fields[t->first + i];
			if (!f->required)
				continue;
			if (!any)
				key(b, "required"), buf_addc(b, '[');
			any = true;
			sep(b);
			jstr(b, f->name.p, f->name.n);
		}
		if (any)
			buf_addc(b, ']');
	}
	if (t->flags & TF_KIND) {
		key(b, "x-kubernetes-group-version-kind");
		buf_addc(b, '[');
		gvk(b, m, t);
		buf_addc(b, ']');
	}
	if (t->flags & TF_ATOMIC)
		kv(b, "x-kubernetes-map-type", "atomic");
	buf_addc(b, '}');
}

/* ---- paths ------------------------------------------------------------------------------- */

/* "readCoreV1NamespacedPod": verb, group in camel case, version, scope, kind. */
static void operation_id(struct buf *b, const struct model *m, const struct stype *t,
                         const char *verb, bool list)
{
	struct sstr g, v;
	split_gv(m->pkgs[t->pkg].gv, &g, &v);
	key(b, "operationId");
	buf_printf(b, "\"%s", verb);
	if (!g.n)
		buf_adds(b, "Core");
	bool up = true;
	for (uint32_t i = 0; i < g.n; i++) {
		if (g.p[i] == '.') {
			if (g.n - i == 7 && !memcmp(g.p + i, ".k8s.io", 7))
				break;
			up = true;
			continue;
		}
		buf_addc(b, up && g.p[i] >= 'a' && g.p[i] <= 'z' ? (char)(g.p[i] - 32) : g.p[i]);
		up = false;
	}
	buf_printf(b, "%c%.*s%s%.*s%s\"", v.p[0] >= 'a' ? v.p[0] - 32 : v.p[0], (int)v.n - 1,
	           v.p + 1, t->flags & TF_NS ? "Namespaced" : "", (int)t->name.n, t->name.p,
	           list ? "List" : "");
}

static void response(struct buf *b, const struct model *m, const char *code, int type, bool v3)
{
	key(b, code);
	buf_adds(b, "{\"description\":\"OK\"");
	if (v3) {
		buf_adds(b, ",\"content\":{\"application/json\":{\"schema\":{");
		ref(b, m, type, v3);
		buf_adds(b, "}}}}");
	} else {
		buf_adds(b, ",\"schema\":{");
		ref(b, m, type, v3);
		buf_adds(b, "}}");
	}
}

static void query_param(struct buf *b, const char *name, const char *type, bool v3)
{
	sep(b);
	buf_printf(b, "{\"name\":\"%s\",\"in\":\"query\",", name);
	if (v3)
		buf_printf(b, "\"schema\":{\"type\":\"%s\"}}", type);
	else
		buf_printf(b, "\"type\":\"%s\"}", type);
}

static void body_param(struct buf *b, const struct model *m, int type, bool v3,
                       const char *const *media)
{
	if (v3) {
		key(b, "requestBody");
		buf_adds(b, "{\"content\":{");
		for (; *media; media++) {
			key(b, *media);
			buf_adds(b, "{\"schema\":{");
			ref(b, m, type, v3);
			buf_adds(b, "}}");
		}
		buf_adds(b, "},\"required\":true}");
	} else {
		sep(b);
		buf_adds(b, "{\"name\":\"body\",\"in\":\"body\",\"required\":true,\"schema\":{");
		ref(b, m, type, v3);
		buf_adds(b, "}}");
	}
}

struct special {
	int patch, status, delete_options;
};

/*
 * One operation. kubectl reads the GVK of an operation to map a resource to its schema
 * (explain), and the query parameters and request media types of PATCH to decide whether the
 * server does field validation and strategic merge (apply), so those are here; the rest is
 * kept to what a generator of clients would want at a minimum.
 */
static void operation(struct buf *b, const struct model *m, int ti, const char *method,
                      const struct special *sp, bool v3)
{
	static const char *const json[] = { "application/json", NULL };
	static const char *const patches[] = { "application/apply-patch+yaml",
		                               "application/json-patch+json",
		                               "application/merge-patch+json",
		                               "application/strategic-merge-patch+json", NULL };
	const struct stype *t = &m->types[ti];
	const char *verb = !strcmp(method, "get")    ? "read"
	                   : !strcmp(method, "post") ? "create"
	                   : !strcmp(method, "put")  ? "replace"
	                                             : method;
	bool writes = !strcmp(method, "post") || !strcmp(method, "put") || !strcmp(method, "patch");
	key(b, method);
	buf_addc(b, '{');
	operation_id(b, m, t, verb, false);
	if (!v3 && writes)
		key(b, "consumes"), buf_adds(b, "[\"*/*\"]");
	if (!v3)
		key(b, "produces"), buf_adds(b, "[\"application/json\",\"application/yaml\"]");
	key(b, "parameters");
	buf_addc(b, '[');
	if (writes || !strcmp(method, "delete"))
		query_param(b, "dryRun", "string", v3);
	if (writes) {
		query_param(b, "fieldManager", "string", v3);
		query_param(b, "fieldValidation", "string", v3);
	}
	if (!strcmp(method, "patch"))
		query_param(b, "force", "boolean", v3);
	if (!v3 && (writes || !strcmp(method, "delete")))
		body_param(b, m,
		           !strcmp(method, "patch")    ? sp->patch
		           : !strcmp(method, "delete") ? sp->delete_options
		                                       : ti,
		           v3, json);
	buf_addc(b, ']');
	if (v3 && writes)
		body_param(b, m, !strcmp(method, "patch") ? sp->patch : ti, v3,
		           !strcmp(method, "patch") ? patches : json);
	key(b, "responses");
	buf_addc(b, '{');
	response(b, m, !strcmp(method, "post") ? "201" : "200",
	         !strcmp(method, "delete") ? sp->status : ti, v3);
	buf_addc(b, '}');
	kv(b, "x-kubernetes-action", method);
	key(b, "x-kubernetes-group-version-kind");
	gvk(b, m, t);
	buf_addc(b, '}');
}

static void path_params(struct buf *b, bool ns, bool name, bool v3)
{
	key(b, "parameters");
	buf_addc(b, '[');
	const char *which[2] = { name ? "name" : NULL, ns ? "namespace" : NULL };
	for (int i = 0; i < 2; i++) {
		if (!which[i])
			continue;
		sep(b);
		buf_printf(b, "{\"name\":\"%s\",\"in\":\"path\",\"required\":true,", which[i]);
		buf_adds(b, v3 ? "\"schema\":{\"type\":\"string\"}}" : "\"type\":\"string\"}");
	}
	buf_addc(b, ']');
}

/* The list kind generated for type ti. */
static int list_of(const struct model *m, int ti)
{
	for (size_t i = 0; i < m->ntypes; i++)
		if (m->types[i].flags & TF_ISLIST && m->types[i].list_of == ti)
			return (int)i;
	return ti;
}

static void resource_paths(struct buf *b, const struct model *m, int ti, const struct special *sp,
                           bool v3)
{
	const struct stype *t = &m->types[ti];
	const struct spkg *p = &m->pkgs[t->pkg];
	bool ns = t->flags & TF_NS;
	struct buf prefix = { 0 };
	bool core = !memchr(p->gv.p, '/', p->gv.n);
	buf_printf(&prefix, "%s/%.*s%s/%.*s", core ? "/api" : "/apis", (int)p->gv.n, p->gv.p,
	           ns ? "/namespaces/{namespace}" : "", (int)t->resource.n, t->resource.p);

	keyn(b, prefix.data, prefix.len);
	buf_addc(b, '{');
	key(b, "get");
	buf_addc(b, '{');
	operation_id(b, m, t, "list", true);
	if (!v3)
		key(b, "produces"), buf_adds(b, "[\"application/json\",\"application/yaml\"]");
	key(b, "parameters");
	buf_addc(b, '[');
	query_param(b, "labelSelector", "string", v3);
	query_param(b, "fieldSelector", "string", v3);
	query_param(b, "limit", "integer", v3);
	query_param(b, "continue", "string", v3);
	query_param(b, "resourceVersion", "string", v3);
	query_param(b, "watch", "boolean", v3);
	buf_addc(b, ']');
	key(b, "responses");
	buf_addc(b, '{');
	response(b, m, "200", list_of(m, ti), v3);
	buf_addc(b, '}');
	kv(b, "x-kubernetes-action", "list");
	key(b, "x-kubernetes-group-version-kind");
	gvk(b, m, t);
	buf_addc(b, '}');
	operation(b, m, ti, "post", sp, v3);
	path_params(b, ns, false, v3);
	buf_addc(b, '}');

	buf_adds(&prefix, "/{name}");
	keyn(b, prefix.data, prefix.len);
	buf_addc(b, '{');
	operation(b, m, ti, "get", sp, v3);
	operation(b, m, ti, "put", sp, v3);
	operation(b, m, ti, "patch", sp, v3);
	operation(b, m, ti, "delete", sp, v3);
	path_params(b, ns, true, v3);
	buf_addc(b, '}');
	buf_free(&prefix);
}

/* ---- documents --------------------------------------------------------------------------- */

static int find(const struct model *m, const char *alias, const char *name)
{
	for (size_t i = 0; i < m->ntypes; i++) {
		const struct stype *t = &m->types[i];
		if (!(t->flags & TF_ISLIST) && sstr_eq(t->name, name) &&
		    sstr_eq(m->pkgs[t->pkg].alias, alias))
			return (int)i;
	}
	return -1;
}

static bool specials(const struct model *m, struct special *sp)
{
	sp->patch = find(m, "meta", "Patch");
	sp->status = find(m, "meta", "Status");
	sp->delete_options = find(m, "meta", "DeleteOptions");
	return sp->patch >= 0 && sp->status >= 0 && sp->delete_options >= 0;
}

void schema_etag(const char *p, size_t n, char out[20])
{
	/* FNV-1a, 64 bits: enough to tell versions of a document apart for caches. */
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	snprintf(out, 20, "\"%016llX\"", (unsigned long long)h);
}

static void finish(struct doc *d, struct buf *b)
{
	schema_etag(b->data, b->len, d->etag);
	d->len = b->len;
	d->text = buf_steal(b);
}

static void build_v2(const struct model *m, const struct special *sp)
{
	struct buf b = { 0 };
	buf_adds(
	    &b, "{\"swagger\":\"2.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":\"v1.32.0\"}");
	key(&b, "paths");
	buf_addc(&b, '{');
	for (size_t i = 0; i < m->ntypes; i++)
		if (m->types[i].resource.n)
			resource_paths(&b, m, (int)i, sp, false);
	buf_addc(&b, '}');
	key(&b, "definitions");
	buf_addc(&b, '{');
	for (size_t i = 0; i < m->ntypes; i++)
		type_schema(&b, m, (int)i, false);
	buf_adds(&b, "}}");
	finish(&doc_v2, &b);
}

static void mark(const struct model *m, uint8_t *seen, int ti)
{
	if (ti < 0 || seen[ti])
		return;
	seen[ti] = 1;
	const struct stype *t = &m->types[ti];
	for (uint32_t i = 0; i < t->nfields; i++)
		if (m->fields[t->first + i].base == BASE_REF)
			mark(m, seen, m->fields[t->first + i].ref);
}

static void build_v3(const struct model *m, const struct special *sp, int pkg)
{
	struct buf b = { 0 };
	uint8_t *seen = xcalloc(m->ntypes, 1);
	buf_adds(&b, "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":"
	             "\"v1.32.0\"}");
	key(&b, "paths");
	buf_addc(&b, '{');
	for (size_t i = 0; i < m->ntypes; i++) {
		const struct stype *t = &m->types[i];
		if ((int)t->pkg == pkg || m->pkgs[t->pkg].home == pkg)
			mark(m, seen, (int)i);
		if ((int)t->pkg == pkg && t->resource.n)
			resource_paths(&b, m, (int)i, sp, true);
	}
	mark(m, seen, sp->patch);
	mark(m, seen, sp->status);
	mark(m, seen, sp->delete_options);
	buf_addc(&b, '}');
	key(&b, "components");
	buf_adds(&b, "{\"schemas\":{");
	for (size_t i = 0; i < m->ntypes; i++)
		if (seen[i])
			type_schema(&b, m, (int)i, true);
	buf_adds(&b, "}}}");
	free(seen);
	finish(&doc_v3[pkg], &b);
}

/* Group-versions with at least one resource, core first, in table order. */
static void build_gvs(const struct model *m)
{
	gvs = xcalloc(m->npkgs + 1, sizeof(*gvs));
	gv_pkg = xcalloc(m->npkgs + 1, sizeof(*gv_pkg));
	doc_v3 = xcalloc(m->npkgs, sizeof(*doc_v3));
	for (size_t p = 0; p < m->npkgs; p++) {
		bool served = false;
		for (size_t i = 0; i < m->ntypes && !served; i++)
			served = m->types[i].pkg == p && m->types[i].resource.n;
		if (!served)
			continue;
		const struct sstr gv = m->pkgs[p].gv;
		gv_pkg[ngvs] = (int)p;
		gvs[ngvs++] = memchr(gv.p, '/', gv.n) ? xasprintf("apis/%.*s", (int)gv.n, gv.p)
		                                      : xasprintf("api/%.*s", (int)gv.n, gv.p);
	}
}

/* Everything is built on the first call for any document: the v3 index needs the hashes of
 * every group-version document, and the total is a few hundred KiB built in milliseconds. */
static bool build_all(void)
{
	if (doc_v2.text)
		return true;
	const struct model *m = schema_model();
	struct special sp;
	if (!m || !specials(m, &sp))
		return false;
	build_gvs(m);
	build_v2(m, &sp);
	struct buf b = { 0 };
	buf_adds(&b, "{\"paths\":{");
	for (size_t i = 0; i < ngvs; i++) {
		build_v3(m, &sp, gv_pkg[i]);
		const char *etag = doc_v3[gv_pkg[i]].etag;
		key(&b, gvs[i]);
		buf_printf(&b, "{\"serverRelativeURL\":\"/openapi/v3/%s?hash=%.16s\"}", gvs[i],
		           etag + 1);
	}
	buf_adds(&b, "}}");
	finish(&doc_v3index, &b);
	return true;
}

static const char *out(const struct doc *d, size_t *len)
{
	if (len)
		*len = d->len;
	return d->text;
}

static bool ready(void)
{
	pthread_mutex_lock(&doc_lock);
	bool ok = build_all();
	pthread_mutex_unlock(&doc_lock);
	return ok;
}

const char *schema_openapi_v2(size_t *len)
{
	return ready() ? out(&doc_v2, len) : NULL;
}

const char *schema_openapi_v3_index(size_t *len)
{
	return ready() ? out(&doc_v3index, len) : NULL;
}

const char *schema_openapi_v3(const char *gv, size_t *len)
{
	if (!ready() || !gv)
		return NULL;
	for (size_t i = 0; i < ngvs; i++)
		if (!strcmp(gvs[i], gv))
			return out(&doc_v3[gv_pkg[i]], len);
	return NULL;
}

const char *schema_openapi_etag(const char *doc)
{
	if (!doc || !ready())
		return NULL;
	if (doc == doc_v2.text)
		return doc_v2.etag;
	if (doc == doc_v3index.text)
		return doc_v3index.etag;
	const char *pb = schema_pb_etag(doc);
	if (pb)
		return pb;
	for (size_t i = 0; i < ngvs; i++)
		if (doc == doc_v3[gv_pkg[i]].text)
			return doc_v3[gv_pkg[i]].etag;
	return NULL;
}

const char *const *schema_group_versions(size_t *n)
{
	bool ok = ready();
	if (n)
		*n = ok ? ngvs : 0;
	return ok ? gvs : NULL;
}
