/* schema model: parses the type table (types.def, compiled in as one string) into arrays. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/log/log.h"
#include "core/schema/schema-internal.h"
#include "core/schema/schema.h"

#define LOG_TAG "schema"

/*
 * The table is a small line-oriented language (see the head of types.def). Keeping it as text
 * rather than C initialisers costs no relocations and no per-field pointers in the binary:
 * names and descriptions are slices of the one string, and only the arrays built here at
 * first use live on the heap (a few tens of KiB).
 */
static const char schema_def[] =
#include "schema-def.inc"
    ;

struct pending {
	struct sstr name; /* "ObjectMeta" or "meta.ObjectMeta" */
	uint16_t pkg;     /* package the reference was written in */
};

struct parser {
	struct model *m;
	struct pending *refs; /* parallel to m->fields */
	size_t cap_fields, cap_types, cap_pkgs;
	struct sstr macros[32][2]; /* $name -> text */
	size_t nmacros;
	int line;
	int pkg;
};

bool sstr_eq(struct sstr s, const char *z)
{
	size_t n = strlen(z);
	return s.n == n && memcmp(s.p, z, n) == 0;
}

static struct sstr lit(const char *z)
{
	return (struct sstr){ z, (uint32_t)strlen(z) };
}

static int fail(struct parser *ps, const char *what, struct sstr tok)
{
	snprintf(ps->m->err, sizeof(ps->m->err), "types.def line %d: %s '%.*s'", ps->line, what,
	         (int)MIN(tok.n, 60u), tok.p);
	return -EINVAL;
}

/* Next space-separated token of *s, or an empty slice at the end. */
static struct sstr token(struct sstr *s)
{
	while (s->n && (*s->p == ' ' || *s->p == '\t')) {
		s->p++;
		s->n--;
	}
	struct sstr t = { s->p, 0 };
	while (t.n < s->n && s->p[t.n] != ' ' && s->p[t.n] != '\t')
		t.n++;
	s->p += t.n;
	s->n -= t.n;
	return t;
}

static bool has_prefix(struct sstr t, const char *pfx, struct sstr *rest)
{
	size_t n = strlen(pfx);
	if (t.n < n || memcmp(t.p, pfx, n) != 0)
		return false;
	if (rest)
		*rest = (struct sstr){ t.p + n, t.n - (uint32_t)n };
	return true;
}

static struct sstr describe(struct parser *ps, struct sstr d)
{
	if (d.n > 1 && d.p[0] == '$') {
		struct sstr key = { d.p + 1, d.n - 1 };
		for (size_t i = 0; i < ps->nmacros; i++)
			if (ps->macros[i][0].n == key.n &&
			    !memcmp(ps->macros[i][0].p, key.p, key.n))
				return ps->macros[i][1];
	}
	return d;
}

static struct sstr macro(struct parser *ps, const char *name)
{
	for (size_t i = 0; i < ps->nmacros; i++)
		if (sstr_eq(ps->macros[i][0], name))
			return ps->macros[i][1];
	return lit("");
}

static struct sfield *add_field(struct parser *ps)
{
	struct model *m = ps->m;
	if (m->nfields == ps->cap_fields) {
		ps->cap_fields = ps->cap_fields ? ps->cap_fields * 2 : 512;
		m->fields = xrealloc(m->fields, ps->cap_fields * sizeof(*m->fields));
		ps->refs = xrealloc(ps->refs, ps->cap_fields * sizeof(*ps->refs));
	}
	ps->refs[m->nfields] = (struct pending){ { NULL, 0 }, (uint16_t)ps->pkg };
	struct sfield *f = &m->fields[m->nfields++];
	memset(f, 0, sizeof(*f));
	return f;
}

static struct stype *add_type(struct parser *ps)
{
	struct model *m = ps->m;
	if (m->ntypes == ps->cap_types) {
		ps->cap_types = ps->cap_types ? ps->cap_types * 2 : 256;
		m->types = xrealloc(m->types, ps->cap_types * sizeof(*m->types));
	}
	struct stype *t = &m->types[m->ntypes++];
	memset(t, 0, sizeof(*t));
	t->pkg = (uint16_t)ps->pkg;
	t->first = (uint32_t)m->nfields;
	return t;
}

/* A field whose type is a named type, resolved after the whole table is read. */
static void add_ref_field(struct parser *ps, const char *name, const char *ref, struct sstr desc)
{
	struct sfield *f = add_field(ps);
	f->name = lit(name);
	f->desc = desc;
	f->base = BASE_REF;
	ps->refs[ps->m->nfields - 1].name = lit(ref);
}

static void add_string_field(struct parser *ps, const char *name, struct sstr desc)
{
	struct sfield *f = add_field(ps);
	f->name = lit(name);
	f->desc = desc;
	f->base = BASE_STRING;
}

static char *zdup(struct sstr s)
{
	return xstrndup(s.p, s.n);
}

/* "12", "2.7" (field 7 of the inline message in field 2), either with a trailing "~". */
static int parse_pb(struct sfield *f, struct sstr t)
{
	uint32_t n[2] = { 0, 0 };
	int part = 0;
	for (uint32_t i = 0; i < t.n; i++) {
		char c = t.p[i];
		if (c >= '0' && c <= '9' && n[part] < 100000)
			n[part] = n[part] * 10 + (uint32_t)(c - '0');
		else if (c == '.' && part == 0 && n[0])
			part = 1;
		else if (c == '~' && i == t.n - 1)
			f->pb_omitzero = 1;
		else
			return -EINVAL;
	}
	/* 19000-19999 are reserved by protobuf; the table never gets near them. */
	if (!n[0] || n[0] >= 19000 || n[1] >= 19000 || (part && !n[1]))
		return -EINVAL;
	f->pb = (uint16_t)n[0];
	f->pb_in = (uint16_t)n[1];
	return 0;
}

/* "name TYPE flags..." after the leading tab; the description was cut off already. */
static int parse_field(struct parser *ps, struct sstr rest, struct sstr desc)
{
	struct sfield *f = add_field(ps);
	struct sstr name = token(&rest), type = token(&rest), v;
	if (!name.n || !type.n)
		return fail(ps, "field needs a name and a type", name);
	f->name = name;
	f->desc = describe(ps, desc);
	while (type.n >= 2 && (has_prefix(type, "[]", NULL) || has_prefix(type, "{}", NULL))) {
		if (f->nwrap == SCHEMA_MAX_WRAP)
			return fail(ps, "too many wrappers", type);
		f->wrap[f->nwrap++] = type.p[0] == '[' ? WRAP_ARRAY : WRAP_MAP;
		type.p += 2;
		type.n -= 2;
	}
	if (sstr_eq(type, "s"))
		f->base = BASE_STRING;
	else if (has_prefix(type, "s=", &v)) {
		f->base = BASE_STRING;
		f->enums = v;
	} else if (sstr_eq(type, "b"))
		f->base = BASE_BOOL;
	else if (sstr_eq(type, "i32"))
		f->base = BASE_INT32;
	else if (sstr_eq(type, "i64"))
		f->base = BASE_INT64;
	else if (sstr_eq(type, "f64"))
		f->base = BASE_NUMBER;
	else if (sstr_eq(type, "byte"))
		f->base = BASE_BYTE;
	else if (sstr_eq(type, "obj"))
		f->base = BASE_ANY;
	else {
		f->base = BASE_REF;
		ps->refs[ps->m->nfields - 1].name = type;
	}
	for (struct sstr t = token(&rest); t.n; t = token(&rest)) {
		if (sstr_eq(t, "!"))
			f->required = 1;
		else if (has_prefix(t, "pk=", &v))
			f->key = zdup(v);
		else if (has_prefix(t, "ps=", &v)) {
			if (sstr_eq(v, "merge"))
				f->strategy = STRAT_MERGE;
			else if (sstr_eq(v, "retainKeys"))
				f->strategy = STRAT_RETAIN;
			else if (sstr_eq(v, "merge,retainKeys"))
				f->strategy = STRAT_MERGE | STRAT_RETAIN;
			else
				return fail(ps, "unknown patch strategy", v);
		} else if (has_prefix(t, "lt=", &v)) {
			if (sstr_eq(v, "atomic"))
				f->list_type = 1;
			else if (sstr_eq(v, "set"))
				f->list_type = 2;
			else if (sstr_eq(v, "map"))
				f->list_type = 3;
			else
				return fail(ps, "unknown list type", v);
		} else if (has_prefix(t, "lk=", &v)) {
			size_t k = 0;
			while (v.n) {
				struct sstr one = { v.p, 0 };
				while (one.n < v.n && v.p[one.n] != ',')
					one.n++;
				if (k == ARRAY_SIZE(f->lkeys) - 1)
					return fail(ps, "too many list map keys", t);
				f->lkeys[k++] = zdup(one);
				v.p += one.n;
				v.n -= one.n;
				if (v.n) {
					v.p++;
					v.n--;
				}
			}
		} else if (has_prefix(t, "mt=", &v)) {
			f->map_type = sstr_eq(v, "atomic") ? MAPT_ATOMIC : MAPT_GRANULAR;
		} else if (t.p[0] >= '0' && t.p[0] <= '9') {
			if (parse_pb(f, t) < 0)
				return fail(ps, "bad protobuf field number", t);
		} else
			return fail(ps, "unknown field flag", t);
	}
	if (!f->pb)
		return fail(ps, "field has no protobuf number", name);
	/* Two fields on one number (or a field on an inline message's number) would make
	 * protobuf bodies decode into the wrong one. */
	for (size_t i = ps->m->types[ps->m->ntypes - 1].first; i + 1 < ps->m->nfields; i++) {
		const struct sfield *o = &ps->m->fields[i];
		if (o->pb == f->pb && (o->pb_in == f->pb_in || !o->pb_in || !f->pb_in))
			return fail(ps, "protobuf number used twice in the type", name);
	}
	return 0;
}

static int parse_type(struct parser *ps, struct sstr rest, struct sstr desc)
{
	if (ps->pkg < 0)
		return fail(ps, "type before any package", rest);
	struct stype *t = add_type(ps);
	struct sstr v;
	t->name = token(&rest);
	t->desc = describe(ps, desc);
	for (struct sstr tok = token(&rest); tok.n; tok = token(&rest)) {
		if (sstr_eq(tok, "K"))
			t->flags |= TF_KIND;
		else if (sstr_eq(tok, "O"))
			t->flags |= TF_META;
		else if (sstr_eq(tok, "L"))
			t->flags |= TF_LIST;
		else if (sstr_eq(tok, "ns"))
			t->flags |= TF_NS;
		else if (sstr_eq(tok, "mt=atomic"))
			t->flags |= TF_ATOMIC;
		else if (has_prefix(tok, "r=", &v))
			t->resource = v;
		else if (sstr_eq(tok, "=time"))
			t->shape = SHAPE_TIME;
		else if (sstr_eq(tok, "=mtime"))
			t->shape = SHAPE_MTIME;
		else if (sstr_eq(tok, "=ios"))
			t->shape = SHAPE_INTSTR;
		else if (sstr_eq(tok, "=qty"))
			t->shape = SHAPE_QTY;
		else if (sstr_eq(tok, "=obj"))
			t->shape = SHAPE_ANY;
		else
			return fail(ps, "unknown type flag", tok);
	}
	/* The standard fields every kind has are written here once, not in each row. */
	if (t->flags & TF_KIND) {
		add_string_field(ps, "apiVersion", macro(ps, "apiVersion"));
		add_string_field(ps, "kind", macro(ps, "kind"));
	}
	if (t->flags & TF_META) {
		add_ref_field(ps, "metadata", "meta.ObjectMeta", macro(ps, "metadata"));
		ps->m->fields[ps->m->nfields - 1].pb = 1; /* every kind's metadata is field 1 */
	}
	return 0;
}

static int parse_package(struct parser *ps, struct sstr rest)
{
	struct model *m = ps->m;
	if (m->npkgs == ps->cap_pkgs) {
		ps->cap_pkgs = ps->cap_pkgs ? ps->cap_pkgs * 2 : 16;
		m->pkgs = xrealloc(m->pkgs, ps->cap_pkgs * sizeof(*m->pkgs));
	}
	struct spkg *p = &m->pkgs[m->npkgs];
	p->alias = token(&rest);
	p->name = token(&rest);
	p->gv = token(&rest);
	p->home = -1;
	struct sstr home = token(&rest), h;
	if (!p->gv.n)
		return fail(ps, "package needs alias, name and group-version", p->alias);
	if (has_prefix(home, "@", &h)) {
		for (size_t i = 0; i < m->npkgs; i++)
			if (m->pkgs[i].alias.n == h.n && !memcmp(m->pkgs[i].alias.p, h.p, h.n))
				p->home = (int)i;
		if (p->home < 0)
			return fail(ps, "unknown home package", h);
	}
	ps->pkg = (int)m->npkgs++;
	return 0;
}

static int find_type(const struct model *m, struct sstr name, int pkg)
{
	struct sstr alias = { NULL, 0 }, base = name;
	const char *dot = memchr(name.p, '.', name.n);
	if (dot) {
		alias = (struct sstr){ name.p, (uint32_t)(dot - name.p) };
		base = (struct sstr){ dot + 1, name.n - alias.n - 1 };
	}
	for (size_t i = 0; i < m->ntypes; i++) {
		const struct stype *t = &m->types[i];
		if (t->flags & TF_ISLIST || t->name.n != base.n ||
		    memcmp(t->name.p, base.p, base.n))
			continue;
		const struct spkg *p = &m->pkgs[t->pkg];
		if (dot ? (p->alias.n == alias.n && !memcmp(p->alias.p, alias.p, alias.n))
		        : (int)t->pkg == pkg)
			return (int)i;
	}
	return -1;
}

/* Appends <Kind>List for every kind marked L: apiVersion, kind, items, metadata (ListMeta). */
static void add_lists(struct parser *ps)
{
	size_t n = ps->m->ntypes;
	for (size_t i = 0; i < n; i++) {
		if (!(ps->m->types[i].flags & TF_LIST))
			continue;
		ps->pkg = ps->m->types[i].pkg;
		struct stype *l = add_type(ps);
		const struct stype *k = &ps->m->types[i];
		l->name = k->name;
		l->flags = TF_KIND | TF_ISLIST;
		l->list_of = (uint16_t)i;
		l->desc = macro(ps, "list");
		add_string_field(ps, "apiVersion", macro(ps, "apiVersion"));
		add_string_field(ps, "kind", macro(ps, "kind"));
		struct sfield *items = add_field(ps);
		items->name = lit("items");
		items->desc = macro(ps, "items");
		items->base = BASE_REF;
		items->ref = (uint16_t)i;
		items->nwrap = 1;
		items->wrap[0] = WRAP_ARRAY;
		items->required = 1;
		items->pb = 2;
		add_ref_field(ps, "metadata", "meta.ListMeta", macro(ps, "listmeta"));
		ps->m->fields[ps->m->nfields - 1].pb = 1;
		l->nfields = (uint32_t)(ps->m->nfields - l->first);
	}
}

static int parse(struct model *m)
{
	struct parser ps = { .m = m, .pkg = -1 };
	const char *p = schema_def;
	int rc = 0;
	struct stype *cur = NULL;
	while (*p && rc == 0) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		ps.line++;
		struct sstr line = { p, (uint32_t)(eol - p) }, desc = { eol, 0 };
		p = *eol ? eol + 1 : eol;
		const char *bar = memchr(line.p, '|', line.n);
		if (bar) {
			desc = (struct sstr){ bar + 1, (uint32_t)(line.p + line.n - bar - 1) };
			while (desc.n && *desc.p == ' ') {
				desc.p++;
				desc.n--;
			}
			line.n = (uint32_t)(bar - line.p);
		}
		while (line.n && line.p[line.n - 1] == ' ')
			line.n--;
		if (!line.n || line.p[0] == '#')
			continue;
		if (line.p[0] == '$') {
			struct sstr rest = { line.p + 1, line.n - 1 };
			if (ps.nmacros == ARRAY_SIZE(ps.macros)) {
				rc = fail(&ps, "too many macros", line);
				break;
			}
			ps.macros[ps.nmacros][0] = token(&rest);
			while (rest.n && *rest.p == ' ') {
				rest.p++;
				rest.n--;
			}
			ps.macros[ps.nmacros++][1] = rest;
		} else if (line.p[0] == '=') {
			if (cur)
				cur->nfields = (uint32_t)(m->nfields - cur->first);
			cur = NULL;
			rc = parse_package(&ps, (struct sstr){ line.p + 1, line.n - 1 });
		} else if (line.p[0] == '\t') {
			if (!cur)
				rc = fail(&ps, "field outside a type", line);
			else
				rc = parse_field(&ps, line, desc);
		} else {
			if (cur)
				cur->nfields = (uint32_t)(m->nfields - cur->first);
			rc = parse_type(&ps, line, desc);
			cur = rc == 0 ? &m->types[m->ntypes - 1] : NULL;
		}
		/* add_field may have moved the types array; keep cur valid. */
		if (cur && rc == 0)
			cur = &m->types[m->ntypes - 1];
	}
	if (cur)
		cur->nfields = (uint32_t)(m->nfields - cur->first);
	if (rc == 0) {
		add_lists(&ps);
		for (size_t i = 0; i < m->nfields && rc == 0; i++) {
			if (m->fields[i].base != BASE_REF || !ps.refs[i].name.p)
				continue;
			int t = find_type(m, ps.refs[i].name, ps.refs[i].pkg);
			if (t < 0) {
				ps.line = 0;
				rc = fail(&ps, "unknown type", ps.refs[i].name);
			}
			m->fields[i].ref = (uint16_t)t;
		}
	}
	free(ps.refs);
	return rc;
}

static struct model *model;
static pthread_once_t model_once = PTHREAD_ONCE_INIT;

static void model_init(void)
{
	struct model *m = xcalloc(1, sizeof(*m));
	if (parse(m) < 0) {
		log_error("%s", m->err);
		for (size_t i = 0; i < m->nfields; i++) {
			free((char *)m->fields[i].key);
			for (size_t k = 0; k < ARRAY_SIZE(m->fields[i].lkeys); k++)
				free((char *)m->fields[i].lkeys[k]);
		}
		free(m->pkgs);
		free(m->types);
		free(m->fields);
		free(m);
		return;
	}
	model = m;
}

const struct model *schema_model(void)
{
	pthread_once(&model_once, model_init);
	return model;
}

int schema_find_kind(const struct model *m, const char *api_version, const char *kind)
{
	if (!m || !api_version || !kind)
		return -1;
	size_t klen = strlen(kind);
	for (size_t i = 0; i < m->ntypes; i++) {
		const struct stype *t = &m->types[i];
		if (!(t->flags & TF_KIND) || !sstr_eq(m->pkgs[t->pkg].gv, api_version))
			continue;
		size_t n = t->name.n + (t->flags & TF_ISLIST ? 4 : 0);
		if (n != klen || memcmp(t->name.p, kind, t->name.n))
			continue;
		if (!(t->flags & TF_ISLIST) || !strcmp(kind + t->name.n, "List"))
			return (int)i;
	}
	return -1;
}

bool schema_has_kind(const char *api_version, const char *kind)
{
	return schema_find_kind(schema_model(), api_version, kind) >= 0;
}
