/* yaml: YAML to JSON with sigs.k8s.io/yaml's YAML 1.1 scalars, and JSON to YAML (libyaml). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/obj/obj-internal.h"

#define YAML_MAX_DEPTH 512
#define YAML_MAX_NODES 2000000      /* nodes in all documents */
#define YAML_MAX_ALIAS_NODES 100000 /* nodes made by expanding aliases ("billion laughs") */

#define TAG_PREFIX "tag:yaml.org,2002:"

/* ---- scalar resolution ------------------------------------------------------------ */

enum kind { K_NULL, K_BOOL, K_NUM, K_STR, K_NOJSON };

struct scalar {
	enum kind kind;
	bool b;
	bool is_int; /* K_NUM from an integer form (what !!int accepts) */
	double d;
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Go's strconv.ParseInt/ParseUint with base 0 (sign, 0x/0o/0b prefixes, leading-0 octal). */
static bool go_parse_int(const char *s, bool allow_sign, bool *neg, uint64_t *mag)
{
	const char *p = s;
	unsigned base = 10;
	*neg = false;
	if (*p == '+' || *p == '-') {
		if (!allow_sign)
			return false;
		*neg = *p++ == '-';
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		p += 1;
	}
	if (!*p)
		return false;
	uint64_t v = 0;
	for (; *p; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return false;
		if (d >= base || v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*mag = v;
	return true;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, bool leading_dot_only)
{
	const char *p = s;
	if (!leading_dot_only && (*p == '+' || *p == '-'))
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	} else {
		if (leading_dot_only || *p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/* A plain scalar as go-yaml v2 resolves it when nothing forces a string. */
static void resolve_plain(const char *in, struct scalar *out)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "y",    "Y",    "yes", "Yes", "YES", "true",
		                             "True", "TRUE", "on",  "On",  "ON",  NULL };
	static const char *const falses[] = { "n",     "N",     "no",  "No",  "NO",  "false",
		                              "False", "FALSE", "off", "Off", "OFF", NULL };
	static const char *const specials[] = { ".nan",  ".NaN",  ".NAN",  ".inf",  ".Inf",
		                                ".INF",  "+.inf", "+.Inf", "+.INF", "-.inf",
		                                "-.Inf", "-.INF", NULL };
	out->kind = K_STR;
	if (in_list(in, nulls)) {
		out->kind = K_NULL;
		return;
	}
	if (in_list(in, trues) || in_list(in, falses)) {
		out->kind = K_BOOL;
		out->b = in_list(in, trues);
		return;
	}
	if (in_list(in, specials)) {
		out->kind = K_NOJSON;
		return;
	}
	char c = in[0];
	if (c == '.') {
		if (yaml_style_float(in, true)) {
			out->kind = K_NUM;
			out->d = strtod(in, NULL);
		}
		return;
	}
	if (!(c == '+' || c == '-' || (c >= '0' && c <= '9')))
		return;
	/* Numbers: underscores are separators and go first. */
	size_t n = strlen(in);
	char *plain = xmalloc(n + 1), *w = plain;
	for (const char *p = in; *p; p++)
		if (*p != '_')
			*w++ = *p;
	*w = '\0';
	bool neg;
	uint64_t mag;
	if (go_parse_int(plain, true, &neg, &mag) &&
	    (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
		out->kind = K_NUM;
		out->is_int = true;
		out->d = neg ? -(double)mag : (double)mag;
	} else if (go_parse_int(plain, false, &neg, &mag)) {
		out->kind = K_NUM;
		out->is_int = true;
		out->d = (double)mag;
	} else if (yaml_style_float(plain, false)) {
		double d = strtod(plain, NULL);
		/* Go's ParseFloat fails on overflow, and the text stays a string. */
		if (!isinf(d)) {
			out->kind = K_NUM;
			out->d = d;
		}
	}
	free(plain);
}

/* Go's strconv.FormatFloat(f, 'g', -1, 32): how sigs.k8s.io/yaml names float keys. */
static void float32_key(double d, char out[48])
{
	float f = (float)d;
	char tmp[48];
	/* A float64 past float32's range prints as Go's "+Inf", which becomes ".inf". */
	if (isinf(f)) {
		snprintf(out, 48, "%s", f > 0 ? ".inf" : "-.inf");
		return;
	}
	if (isnan(f)) {
		snprintf(out, 48, ".nan");
		return;
	}
	int prec;
	for (prec = 1; prec <= 9; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, (double)f);
		if (strtof(tmp, NULL) == f)
			break;
	}
	int exp = atoi(strchr(tmp, 'e') + 1);
	/* Go switches to an exponent below 1e-4 and from 1e+06 on, for shortest output. */
	if (exp < -4 || exp >= 6) {
		snprintf(out, 48, "%.*e", prec - 1, (double)f);
		return;
	}
	int decimals = prec - 1 - exp;
	snprintf(out, 48, "%.*f", decimals > 0 ? decimals : 0, (double)f);
}

/* ---- the event-driven builder ------------------------------------------------------ */

struct anchor {
	char *name;
	cJSON *value; /* a private copy */
};

struct frame {
	cJSON *node;
	bool is_map;
	bool have_key;
	bool key_is_merge;
	char *key;
	char *anchor;
	cJSON *merges; /* array of merge sources of a mapping */
	yaml_mark_t mark;
};

struct builder {
	struct frame stack[YAML_MAX_DEPTH];
	int depth;
	struct anchor *anchors;
	size_t nanchors;
	size_t nodes, alias_nodes;
	cJSON *docs; /* array of roots */
	cJSON *root; /* current document's root */
	struct err *e;
};

static size_t count_nodes(const cJSON *v)
{
	size_t n = 1;
	if (jis_container(v))
		for (const cJSON *c = v->child; c; c = c->next)
			n += count_nodes(c);
	return n;
}

static int fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(b->e, -EINVAL, "yaml: line %zu, column %zu: %s", m.line + 1, m.column + 1,
	               msg);
}

static void set_anchor(struct builder *b, const char *name, const cJSON *v)
{
	for (size_t i = 0; i < b->nanchors; i++)
		if (strcmp(b->anchors[i].name, name) == 0) {
			/* A later anchor of the same name shadows the earlier one. */
			cJSON_Delete(b->anchors[i].value);
			b->anchors[i].value = obj_dup(v);
			return;
		}
	b->anchors = xrealloc(b->anchors, (b->nanchors + 1) * sizeof(*b->anchors));
	b->anchors[b->nanchors].name = xstrdup(name);
	b->anchors[b->nanchors].value = obj_dup(v);
	b->nanchors++;
}

static const cJSON *get_anchor(struct builder *b, const char *name)
{
	for (size_t i = 0; i < b->nanchors; i++)
		if (strcmp(b->anchors[i].name, name) == 0)
			return b->anchors[i].value;
	return NULL;
}

/* The text a non-string key becomes, as sigs.k8s.io/yaml converts map keys. */
static int key_text(struct builder *b, const cJSON *k, bool is_float, yaml_mark_t m, char **out)
{
	char tmp[48];
	int64_t i;
	switch (jtype(k)) {
	case cJSON_String:
		*out = xstrdup(k->valuestring);
		return 0;
	case cJSON_True:
		*out = xstrdup("true");
		return 0;
	case cJSON_False:
		*out = xstrdup("false");
		return 0;
	case cJSON_Number:
		if (!is_float && jint(k, &i)) {
			snprintf(tmp, sizeof(tmp), "%lld", (long long)i);
		} else if (!is_float && k->valuedouble >= 9223372036854775808.0 &&
		           k->valuedouble == trunc(k->valuedouble) &&
		           k->valuedouble < 18446744073709551616.0) {
			snprintf(tmp, sizeof(tmp), "%.0f", k->valuedouble);
		} else {
			float32_key(k->valuedouble, tmp);
		}
		*out = xstrdup(tmp);
		return 0;
	default:
		return fail_at(b, m, "unsupported map key of type %s", jtype_name(k));
	}
}

/* Puts a finished value where it belongs: document root, array element or mapping entry. */
static int place(struct builder *b, cJSON *v, yaml_mark_t m)
{
	if (b->depth == 0) {
		cJSON_Delete(b->root);
		b->root = v;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	if (!f->is_map) {
		jappend(f->node, v);
		return 0;
	}
	if (!f->have_key) {
		/* A key made by an alias, or a complex key. */
		if (jis_container(v)) {
			cJSON_Delete(v);
			return fail_at(b, m, "mapping keys must be scalars");
		}
		int r = key_text(b, v, false, m, &f->key);
		cJSON_Delete(v);
		if (r < 0)
			return r;
		f->have_key = true;
		f->key_is_merge = false;
		return 0;
	}
	if (f->key_is_merge) {
		if (!f->merges)
			f->merges = jarr();
		jappend(f->merges, v);
	} else {
		/* Duplicate keys: the last one wins, as go-yaml v2 decodes into a map. */
		jput(f->node, f->key, v);
	}
	free(f->key);
	f->key = NULL;
	f->have_key = false;
	f->key_is_merge = false;
	return 0;
}

/* Merge keys: entries of the merged mappings that the mapping does not set itself. */
static int apply_merges(struct builder *b, struct frame *f)
{
	if (!f->merges)
		return 0;
	for (cJSON *src = f->merges->child; src; src = src->next) {
		cJSON *list = src;
		if (!jis_obj(src) && !jis_arr(src))
			return fail_at(b, f->mark,
			               "map merge requires map or sequence of maps as the value");
		/* In a sequence, earlier mappings take precedence over later ones. */
		for (cJSON *m = jis_arr(list) ? list->child : list; m;
		     m = jis_arr(list) ? m->next : NULL) {
			if (!jis_obj(m))
				return fail_at(
				    b, f->mark,
				    "map merge requires map or sequence of maps as the value");
			for (cJSON *kv = m->child; kv; kv = kv->next)
				if (!cJSON_GetObjectItemCaseSensitive(f->node, kv->string))
					jadd(f->node, kv->string, obj_dup(kv));
		}
	}
	return 0;
}

static void frame_clear(struct frame *f)
{
	free(f->key);
	free(f->anchor);
	cJSON_Delete(f->merges);
	memset(f, 0, sizeof(*f));
}

static int push(struct builder *b, bool is_map, const yaml_char_t *anchor, yaml_mark_t m)
{
	if (b->depth > 0) {
		struct frame *top = &b->stack[b->depth - 1];
		if (top->is_map && !top->have_key)
			return fail_at(b, m, "mapping keys must be scalars");
	}
	if (b->depth >= YAML_MAX_DEPTH)
		return fail_at(b, m, "nesting is deeper than %d levels", YAML_MAX_DEPTH);
	if (++b->nodes > YAML_MAX_NODES)
		return fail_at(b, m, "document has more than %d nodes", YAML_MAX_NODES);
	struct frame *f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = is_map ? jobj() : jarr();
	f->is_map = is_map;
	f->anchor = anchor ? xstrdup((const char *)anchor) : NULL;
	f->mark = m;
	return 0;
}

static int pop(struct builder *b, yaml_mark_t m)
{
	struct frame *f = &b->stack[b->depth - 1];
	int r = 0;
	if (f->is_map)
		r = apply_merges(b, f);
	cJSON *node = f->node;
	f->node = NULL;
	if (r == 0 && f->anchor)
		set_anchor(b, f->anchor, node);
	frame_clear(f);
	b->depth--;
	if (r < 0) {
		cJSON_Delete(node);
		return r;
	}
	return place(b, node, m);
}

/* "!!int" for the standard tags, the tag itself otherwise; out holds 64 bytes. */
static const char *short_tag(const char *tag, char *out)
{
	if (!str_has_prefix(tag, TAG_PREFIX))
		return tag;
	snprintf(out, 64, "!!%s", tag + strlen(TAG_PREFIX));
	return out;
}

static int scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct scalar s = { .kind = K_STR };
	yaml_mark_t m = ev->start_mark;
	char tagbuf[64];

	if (++b->nodes > YAML_MAX_NODES)
		return fail_at(b, m, "document has more than %d nodes", YAML_MAX_NODES);
	if (strlen(text) != len)
		return fail_at(b, m, "NUL characters in strings are not supported");
	if (tag && strcmp(tag, "!") != 0) {
		/* Explicit tags: the resolved kind must be what the tag says. */
		const char *t = str_has_prefix(tag, TAG_PREFIX) ? tag + strlen(TAG_PREFIX) : "";
		bool want_int = strcmp(t, "int") == 0, want_float = strcmp(t, "float") == 0;
		bool want_bool = strcmp(t, "bool") == 0, want_null = strcmp(t, "null") == 0;
		if (strcmp(t, "map") == 0 || strcmp(t, "seq") == 0)
			return fail_at(b, m, "cannot decode a scalar as a %s",
			               short_tag(tag, tagbuf));
		if (want_int || want_float || want_bool || want_null) {
			resolve_plain(text, &s);
			bool ok = (want_int && s.kind == K_NUM && s.is_int) ||
			          (want_float && (s.kind == K_NUM || s.kind == K_NOJSON)) ||
			          (want_bool && s.kind == K_BOOL) ||
			          (want_null && s.kind == K_NULL);
			if (!ok)
				return fail_at(b, m, "cannot decode `%.64s` as a %s", text,
				               short_tag(tag, tagbuf));
		}
		/* !!str, !!binary, !!timestamp and tags of our own keep the text. */
	} else if (plain && !tag) {
		resolve_plain(text, &s);
	}
	if (s.kind == K_NOJSON)
		return fail_at(b, m, "%.32s has no JSON representation", text);

	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	if (f && f->is_map && !f->have_key) {
		/* A key. "<<" written plainly is a merge key. */
		if (plain && !tag && strcmp(text, "<<") == 0) {
			f->key = xstrdup("<<");
			f->have_key = true;
			f->key_is_merge = true;
			return 0;
		}
		cJSON *k = s.kind == K_NULL   ? jnull()
		           : s.kind == K_BOOL ? jbool(s.b)
		           : s.kind == K_NUM  ? jnum(s.d)
		                              : jstr(text);
		int r = key_text(b, k, s.kind == K_NUM && !s.is_int, m, &f->key);
		cJSON_Delete(k);
		if (r < 0)
			return r;
		f->have_key = true;
		f->key_is_merge = false;
		if (ev->data.scalar.anchor) {
			cJSON *kv = jstr(f->key);
			set_anchor(b, (const char *)ev->data.scalar.anchor, kv);
			cJSON_Delete(kv);
		}
		return 0;
	}
	cJSON *v = s.kind == K_NULL   ? jnull()
	           : s.kind == K_BOOL ? jbool(s.b)
	           : s.kind == K_NUM  ? jnum(s.d)
	                              : jstr(text);
	if (ev->data.scalar.anchor)
		set_anchor(b, (const char *)ev->data.scalar.anchor, v);
	return place(b, v, m);
}

static int alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const cJSON *v = get_anchor(b, name);
	if (!v)
		return fail_at(b, ev->start_mark, "unknown anchor '%.64s' referenced", name);
	size_t n = count_nodes(v);
	b->alias_nodes += n;
	b->nodes += n;
	if (b->alias_nodes > YAML_MAX_ALIAS_NODES || b->nodes > YAML_MAX_NODES)
		return fail_at(b, ev->start_mark, "aliases expand to too many nodes");
	return place(b, obj_dup(v), ev->start_mark);
}

static int parser_error(struct builder *b, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown problem parsing YAML content";
	yaml_mark_t m = p->problem_mark;
	if (p->context)
		return err_set(b->e, -EINVAL,
		               "yaml: line %zu, column %zu: %s (%s at line %zu, column %zu)",
		               m.line + 1, m.column + 1, problem, p->context,
		               p->context_mark.line + 1, p->context_mark.column + 1);
	return err_set(b->e, -EINVAL, "yaml: line %zu, column %zu: %s", m.line + 1, m.column + 1,
	               problem);
}

static int parse_stream(const char *text, size_t len, cJSON **docs, struct err *e)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct builder b = { .e = e };
	int rc = 0;
	bool done = false;

	*docs = NULL;
	b.docs = jarr();
	if (!yaml_parser_initialize(&p)) {
		fprintf(stderr, "<2>tug: out of memory starting the YAML parser\n");
		abort();
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)(text ? text : ""), text ? len : 0);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_error(&b, &p);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			cJSON_Delete(b.root);
			b.root = NULL;
			/* Anchors do not cross documents. */
			for (size_t i = 0; i < b.nanchors; i++) {
				free(b.anchors[i].name);
				cJSON_Delete(b.anchors[i].value);
			}
			b.nanchors = 0;
			break;
		case YAML_DOCUMENT_END_EVENT:
			/* Empty documents ("---" alone, or only comments) are skipped. */
			if (b.root && !jis_null(b.root))
				jappend(b.docs, b.root);
			else
				cJSON_Delete(b.root);
			b.root = NULL;
			break;
		case YAML_MAPPING_START_EVENT:
			rc = push(&b, true, ev.data.mapping_start.anchor, ev.start_mark);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = push(&b, false, ev.data.sequence_start.anchor, ev.start_mark);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			rc = pop(&b, ev.start_mark);
			break;
		case YAML_SCALAR_EVENT:
			rc = scalar(&b, &ev);
			break;
		case YAML_ALIAS_EVENT:
			rc = alias(&b, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc < 0)
			break;
	}
	yaml_parser_delete(&p);
	while (b.depth > 0) {
		cJSON_Delete(b.stack[b.depth - 1].node);
		frame_clear(&b.stack[--b.depth]);
	}
	for (size_t i = 0; i < b.nanchors; i++) {
		free(b.anchors[i].name);
		cJSON_Delete(b.anchors[i].value);
	}
	free(b.anchors);
	cJSON_Delete(b.root);
	if (rc < 0) {
		cJSON_Delete(b.docs);
		return rc;
	}
	*docs = b.docs;
	return 0;
}

int obj_yaml_parse_all(const char *text, size_t len, cJSON **out, struct err *e)
{
	return parse_stream(text, len, out, e);
}

int obj_yaml_parse(const char *text, size_t len, cJSON **out, struct err *e)
{
	cJSON *docs;
	*out = NULL;
	int r = parse_stream(text, len, &docs, e);
	if (r < 0)
		return r;
	size_t n = jlen(docs);
	if (n > 1) {
		cJSON_Delete(docs);
		return err_set(e, -EINVAL, "yaml: expected one document, found %zu", n);
	}
	if (n == 0) {
		cJSON_Delete(docs);
		*out = jnull();
		return 0;
	}
	*out = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	return 0;
}

/* ---- JSON to YAML ---------------------------------------------------------------- */

static int write_cb(void *data, unsigned char *buffer, size_t size)
{
	buf_add(data, buffer, size);
	return 1;
}

static bool needs_quotes(const char *s)
{
	struct scalar sc;
	resolve_plain(s, &sc);
	/* Anything that would read back as a non-string, and the merge key. */
	return sc.kind != K_STR || strcmp(s, "<<") == 0;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, bool is_string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	if (is_string && needs_quotes(text))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (is_string && strchr(text, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)text, (int)strlen(text),
	                             1, 1, style);
	return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
}

static int emit_value(yaml_emitter_t *em, const cJSON *v)
{
	yaml_event_t ev;
	struct buf b = { 0 };
	int r = 0;
	switch (jtype(v)) {
	case cJSON_Object:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		                                    v->child ? YAML_BLOCK_MAPPING_STYLE
		                                             : YAML_FLOW_MAPPING_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -EIO;
		for (const cJSON *c = v->child; c && r == 0; c = c->next) {
			r = emit_scalar(em, c->string ? c->string : "", true);
			if (r == 0)
				r = emit_value(em, c);
		}
		if (r)
			return r;
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	case cJSON_Array:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		                                     v->child ? YAML_BLOCK_SEQUENCE_STYLE
		                                              : YAML_FLOW_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -EIO;
		for (const cJSON *c = v->child; c && r == 0; c = c->next)
			r = emit_value(em, c);
		if (r)
			return r;
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	case cJSON_String:
		return emit_scalar(em, v->valuestring, true);
	case cJSON_Number:
		jnum_format(&b, v->valuedouble);
		r = emit_scalar(em, b.data, false);
		buf_free(&b);
		return r;
	case cJSON_True:
		return emit_scalar(em, "true", false);
	case cJSON_False:
		return emit_scalar(em, "false", false);
	default:
		return emit_scalar(em, "null", false);
	}
}

int obj_yaml_print(struct buf *out, const cJSON *v, struct err *e)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int r = -EIO;

	if (!yaml_emitter_initialize(&em)) {
		fprintf(stderr, "<2>tug: out of memory starting the YAML emitter\n");
		abort();
	}
	yaml_emitter_set_output(&em, write_cb, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	if (emit_value(&em, v) < 0)
		goto out;
	yaml_document_end_event_initialize(&ev, 1);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	yaml_stream_end_event_initialize(&ev);
	if (!yaml_emitter_emit(&em, &ev))
		goto out;
	r = 0;
out:
	if (r < 0)
		err_set(e, r, "yaml: cannot write: %s", em.problem ? em.problem : "emitter error");
	yaml_emitter_delete(&em);
	return r;
}
