/* selector: label selectors (string grammar and LabelSelector), matching, node affinity. */
#include <stdio.h>
#include <string.h>

#include "core/obj/obj-internal.h"

/* ---- lexer: the same tokens upstream's labels lexer produces ----------------- */

enum tok {
	T_END,
	T_IDENT,
	T_COMMA,
	T_OPEN,
	T_CLOSE,
	T_NOT, /* "!" */
	T_EQ,
	T_DEQ,
	T_NEQ,
	T_GT,
	T_LT,
	T_IN,
	T_NOTIN,
};

struct token {
	enum tok t;
	char *lit;
};

struct lexer {
	struct token *v;
	size_t n, cap, pos;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static bool special_token(const char *s, size_t n, enum tok *t)
{
	static const struct {
		const char *s;
		enum tok t;
	} map[] = { { ")", T_CLOSE }, { ",", T_COMMA }, { "!", T_NOT },
		    { "==", T_DEQ },  { "=", T_EQ },    { ">", T_GT },
		    { "<", T_LT },    { "!=", T_NEQ },  { "(", T_OPEN } };
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strlen(map[i].s) == n && memcmp(map[i].s, s, n) == 0) {
			*t = map[i].t;
			return true;
		}
	return false;
}

static void lex_push(struct lexer *l, enum tok t, const char *s, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].t = t;
	l->v[l->n].lit = xstrndup(s, n);
	l->n++;
}

static void lex(struct lexer *l, const char *s)
{
	for (;;) {
		while (is_space(*s))
			s++;
		if (!*s) {
			lex_push(l, T_END, "", 0);
			return;
		}
		if (is_special(*s)) {
			/* Longest run of special characters that is still a token. */
			size_t n = 0, best = 0;
			enum tok t, bt = T_END;
			while (is_special(s[n])) {
				n++;
				if (special_token(s, n, &t)) {
					best = n;
					bt = t;
				} else if (best) {
					break;
				}
			}
			lex_push(l, bt, s, best);
			s += best;
			continue;
		}
		size_t n = 0;
		while (s[n] && !is_space(s[n]) && !is_special(s[n]))
			n++;
		enum tok t = T_IDENT;
		if (n == 2 && memcmp(s, "in", 2) == 0)
			t = T_IN;
		else if (n == 5 && memcmp(s, "notin", 5) == 0)
			t = T_NOTIN;
		lex_push(l, t, s, n);
		s += n;
	}
}

static void lex_free(struct lexer *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].lit);
	free(l->v);
}

/* In "values" context the keywords are plain identifiers ("in" can be a value or a key). */
static enum tok peek(struct lexer *l, bool values, const char **lit)
{
	struct token *t = &l->v[l->pos];
	if (lit)
		*lit = t->lit;
	if (values && (t->t == T_IN || t->t == T_NOTIN))
		return T_IDENT;
	return t->t;
}

static enum tok take(struct lexer *l, bool values, const char **lit)
{
	enum tok t = peek(l, values, lit);
	if (l->v[l->pos].t != T_END)
		l->pos++;
	return t;
}

/* ---- requirements ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates, as upstream's string sets do. */
static void sort_unique(char **v, size_t *n)
{
	if (*n < 2)
		return;
	qsort(v, *n, sizeof(*v), cmp_str);
	size_t w = 1;
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(v[i], v[w - 1]) == 0) {
			free(v[i]);
			continue;
		}
		v[w++] = v[i];
	}
	*n = w;
}

static void req_clear(struct sel_req *r)
{
	free(r->key);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	memset(r, 0, sizeof(*r));
}

static bool parse_int64(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static const char *op_text(enum sel_op op)
{
	switch (op) {
	case SEL_EQUALS:
		return "=";
	case SEL_DOUBLE_EQUALS:
		return "==";
	case SEL_NOT_EQUALS:
		return "!=";
	case SEL_IN:
		return "in";
	case SEL_NOT_IN:
		return "notin";
	case SEL_EXISTS:
		return "exists";
	case SEL_DOES_NOT_EXIST:
		return "!";
	case SEL_GT:
		return "gt";
	case SEL_LT:
		return "lt";
	}
	return "?";
}

/*
 * Checks a requirement as upstream's NewRequirement does: the key is a
 * qualified name, the number of values fits the operator, Gt/Lt values are
 * integers and every value is a valid label value.
 */
static int req_validate(const struct sel_req *r, struct err *e)
{
	if (obj_validate_qualified_name(r->key, e) < 0)
		return err_wrap(e, "invalid label key \"%.100s\"", r->key);
	switch (r->op) {
	case SEL_IN:
	case SEL_NOT_IN:
		if (r->nvalues == 0)
			return err_set(
			    e, -EINVAL,
			    "key %.100s: for 'in', 'notin' operators, values set can't be empty",
			    r->key);
		break;
	case SEL_EQUALS:
	case SEL_DOUBLE_EQUALS:
	case SEL_NOT_EQUALS:
		if (r->nvalues != 1)
			return err_set(
			    e, -EINVAL,
			    "key %.100s: exact-match compatibility requires one single value",
			    r->key);
		break;
	case SEL_EXISTS:
	case SEL_DOES_NOT_EXIST:
		if (r->nvalues != 0)
			return err_set(
			    e, -EINVAL,
			    "key %.100s: values set must be empty for exists and does not exist",
			    r->key);
		break;
	case SEL_GT:
	case SEL_LT: {
		int64_t v;
		if (r->nvalues != 1)
			return err_set(
			    e, -EINVAL,
			    "key %.100s: for 'Gt', 'Lt' operators, exactly one value is required",
			    r->key);
		if (!parse_int64(r->values[0], &v))
			return err_set(
			    e, -EINVAL,
			    "key %.100s: for 'Gt', 'Lt' operators, the value must be an integer",
			    r->key);
		break;
	}
	}
	for (size_t i = 0; i < r->nvalues; i++)
		if (obj_validate_label_value(r->values[i], e) < 0)
			return err_wrap(e, "invalid value \"%.80s\" for key %.100s", r->values[i],
			                r->key);
	return 0;
}

static struct sel *sel_new(void)
{
	return xcalloc(1, sizeof(struct sel));
}

static struct sel_req *sel_add(struct sel *s)
{
	s->reqs = xrealloc(s->reqs, (s->n + 1) * sizeof(*s->reqs));
	memset(&s->reqs[s->n], 0, sizeof(s->reqs[0]));
	return &s->reqs[s->n++];
}

static void add_value(struct sel_req *r, const char *v)
{
	r->values = xrealloc(r->values, (r->nvalues + 1) * sizeof(*r->values));
	r->values[r->nvalues++] = xstrdup(v);
}

/* Stable insertion sort by key: selectors are short. */
static void sort_reqs(struct sel *s)
{
	for (size_t i = 1; i < s->n; i++) {
		struct sel_req t = s->reqs[i];
		size_t j = i;
		while (j > 0 && strcmp(s->reqs[j - 1].key, t.key) > 0) {
			s->reqs[j] = s->reqs[j - 1];
			j--;
		}
		s->reqs[j] = t;
	}
}

void sel_free(struct sel *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		req_clear(&s->reqs[i]);
	free(s->reqs);
	free(s);
}

/* ---- the string grammar ---------------------------------------------------------- */

static int parse_values(struct lexer *l, struct sel_req *r, struct err *e)
{
	const char *lit;
	enum tok t = take(l, true, &lit);
	if (t != T_OPEN)
		return err_set(e, -EINVAL, "found '%.64s', expected: '('", lit);
	t = peek(l, true, &lit);
	if (t == T_CLOSE) {
		/* "()" is the set holding the empty string. */
		take(l, true, NULL);
		add_value(r, "");
		return 0;
	}
	if (t != T_IDENT && t != T_COMMA)
		return err_set(e, -EINVAL, "found '%.64s', expected: ',', ')' or identifier", lit);
	for (;;) {
		t = take(l, true, &lit);
		if (t == T_IDENT) {
			add_value(r, lit);
			t = peek(l, true, &lit);
			if (t == T_COMMA)
				continue;
			if (t == T_CLOSE)
				break;
			return err_set(e, -EINVAL, "found '%.64s', expected: ',' or ')'", lit);
		}
		if (t == T_COMMA) {
			/* Empty members: "(,a)", "(a,)", "(a,,b)" all hold "". */
			if (r->nvalues == 0)
				add_value(r, "");
			t = peek(l, true, NULL);
			if (t == T_CLOSE) {
				add_value(r, "");
				break;
			}
			if (t == T_COMMA)
				add_value(r, "");
			continue;
		}
		return err_set(e, -EINVAL, "found '%.64s', expected: ',', or identifier", lit);
	}
	t = take(l, true, &lit);
	if (t != T_CLOSE)
		return err_set(e, -EINVAL, "found '%.64s', expected: ')'", lit);
	return 0;
}

static int parse_requirement(struct lexer *l, struct sel_req *r, struct err *e)
{
	const char *lit;
	bool not = false;
	enum tok t = take(l, true, &lit);

	if (t == T_NOT) {
		not = true;
		t = take(l, true, &lit);
	}
	if (t != T_IDENT)
		return err_set(e, -EINVAL, "found '%.64s', expected: identifier", lit);
	r->key = xstrdup(lit);
	if (obj_validate_qualified_name(r->key, e) < 0)
		return err_wrap(e, "invalid label key \"%.100s\"", r->key);
	t = peek(l, true, NULL);
	if (not || t == T_END || t == T_COMMA) {
		/* "!key" or a bare "key"; whatever follows "!key" is the caller's problem. */
		r->op = not ? SEL_DOES_NOT_EXIST : SEL_EXISTS;
		return req_validate(r, e);
	}
	t = take(l, false, &lit);
	switch (t) {
	case T_IN:
		r->op = SEL_IN;
		break;
	case T_NOTIN:
		r->op = SEL_NOT_IN;
		break;
	case T_EQ:
		r->op = SEL_EQUALS;
		break;
	case T_DEQ:
		r->op = SEL_DOUBLE_EQUALS;
		break;
	case T_NEQ:
		r->op = SEL_NOT_EQUALS;
		break;
	case T_GT:
		r->op = SEL_GT;
		break;
	case T_LT:
		r->op = SEL_LT;
		break;
	default:
		return err_set(e, -EINVAL, "found '%.64s', expected: in, notin, =, ==, !=, gt, lt",
		               lit);
	}
	if (r->op == SEL_IN || r->op == SEL_NOT_IN) {
		if (parse_values(l, r, e) < 0)
			return -EINVAL;
	} else {
		t = peek(l, true, &lit);
		if (t == T_END || t == T_COMMA) {
			add_value(r, ""); /* "key=" means the empty value */
		} else if (t == T_IDENT) {
			add_value(r, lit);
			take(l, true, NULL);
		} else {
			return err_set(e, -EINVAL, "found '%.64s', expected: identifier", lit);
		}
	}
	sort_unique(r->values, &r->nvalues);
	return req_validate(r, e);
}

int sel_parse(const char *s, struct sel **out, struct err *e)
{
	struct lexer l = { 0 };
	struct sel *sel = sel_new();
	const char *lit;
	int rc = 0;

	*out = NULL;
	lex(&l, s ? s : "");
	for (;;) {
		enum tok t = peek(&l, true, &lit);
		if (t == T_END)
			break;
		if (t != T_IDENT && t != T_NOT) {
			rc = err_set(e, -EINVAL,
			             "found '%.64s', expected: !, identifier, or 'end of string'",
			             lit);
			goto out;
		}
		if (parse_requirement(&l, sel_add(sel), e) < 0) {
			rc = err_wrap(e, "unable to parse requirement");
			goto out;
		}
		t = take(&l, true, &lit);
		if (t == T_END)
			break;
		if (t != T_COMMA) {
			rc = err_set(e, -EINVAL, "found '%.64s', expected: ',' or 'end of string'",
			             lit);
			goto out;
		}
		t = peek(&l, true, &lit);
		if (t != T_IDENT && t != T_NOT) {
			rc = err_set(e, -EINVAL, "found '%.64s', expected: identifier after ','",
			             lit);
			goto out;
		}
	}
	sort_reqs(sel);
	*out = sel;
	sel = NULL;
out:
	if (rc < 0)
		err_wrap(e, "invalid label selector \"%.120s\"", s ? s : "");
	sel_free(sel);
	lex_free(&l);
	return rc;
}

/* ---- structured forms ---------------------------------------------------------- */

static int add_equals(struct sel *s, const char *key, const cJSON *v, struct err *e)
{
	if (!jis_str(v))
		return err_set(e, -EINVAL, "value of %.100s must be a string, not a %s", key,
		               jtype_name(v));
	struct sel_req *r = sel_add(s);
	r->key = xstrdup(key);
	r->op = SEL_EQUALS;
	add_value(r, v->valuestring);
	return req_validate(r, e);
}

int sel_from_map(const cJSON *map, struct sel **out, struct err *e)
{
	struct sel *s = sel_new();
	*out = NULL;
	if (map && !jis_null(map)) {
		if (!jis_obj(map)) {
			sel_free(s);
			return err_set(e, -EINVAL,
			               "selector must be an object of strings, not a %s",
			               jtype_name(map));
		}
		for (const cJSON *c = map->child; c; c = c->next)
			if (add_equals(s, c->string, c, e) < 0) {
				sel_free(s);
				return -EINVAL;
			}
	}
	sort_reqs(s);
	*out = s;
	return 0;
}

/* Reads an operator and values of a LabelSelectorRequirement or NodeSelectorRequirement. */
static int expr_to_req(const cJSON *expr, bool node, struct sel_req *r, struct err *e)
{
	if (!jis_obj(expr))
		return err_set(e, -EINVAL, "a requirement must be an object, not a %s",
		               jtype_name(expr));
	const char *key = obj_get_str(expr, "key");
	const char *op = obj_get_str(expr, "operator");
	const cJSON *values = obj_child(expr, "values");
	r->key = xstrdup(key ? key : "");
	if (!op)
		return err_set(e, -EINVAL, "key %.100s: operator is required", r->key);
	if (strcmp(op, "In") == 0)
		r->op = SEL_IN;
	else if (strcmp(op, "NotIn") == 0)
		r->op = SEL_NOT_IN;
	else if (strcmp(op, "Exists") == 0)
		r->op = SEL_EXISTS;
	else if (strcmp(op, "DoesNotExist") == 0)
		r->op = SEL_DOES_NOT_EXIST;
	else if (node && strcmp(op, "Gt") == 0)
		r->op = SEL_GT;
	else if (node && strcmp(op, "Lt") == 0)
		r->op = SEL_LT;
	else
		return err_set(e, -EINVAL, "\"%.40s\" is not a valid %s operator", op,
		               node ? "node selector" : "label selector");
	if (values && !jis_null(values)) {
		if (!jis_arr(values))
			return err_set(e, -EINVAL, "key %.100s: values must be an array of strings",
			               r->key);
		for (const cJSON *v = values->child; v; v = v->next) {
			if (!jis_str(v))
				return err_set(e, -EINVAL,
				               "key %.100s: values must be an array of strings",
				               r->key);
			add_value(r, v->valuestring);
		}
	}
	sort_unique(r->values, &r->nvalues);
	return req_validate(r, e);
}

int sel_from_label_selector(const cJSON *ls, struct sel **out, struct err *e)
{
	struct sel *s = sel_new();
	int rc = 0;
	*out = NULL;
	if (!ls || jis_null(ls)) {
		s->nothing = true;
		*out = s;
		return 0;
	}
	if (!jis_obj(ls)) {
		rc = err_set(e, -EINVAL, "a label selector must be an object, not a %s",
		             jtype_name(ls));
		goto out;
	}
	const cJSON *ml = obj_child(ls, "matchLabels");
	if (ml && !jis_null(ml)) {
		if (!jis_obj(ml)) {
			rc = err_set(e, -EINVAL, "matchLabels must be an object of strings");
			goto out;
		}
		for (const cJSON *c = ml->child; c; c = c->next)
			if ((rc = add_equals(s, c->string, c, e)) < 0)
				goto out;
	}
	const cJSON *me = obj_child(ls, "matchExpressions");
	if (me && !jis_null(me)) {
		if (!jis_arr(me)) {
			rc = err_set(e, -EINVAL, "matchExpressions must be an array");
			goto out;
		}
		for (const cJSON *x = me->child; x; x = x->next)
			if ((rc = expr_to_req(x, false, sel_add(s), e)) < 0)
				goto out;
	}
	sort_reqs(s);
	*out = s;
	s = NULL;
out:
	sel_free(s);
	return rc;
}

/* ---- matching ------------------------------------------------------------------ */

static bool has_value(const struct sel_req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

static bool req_matches(const struct sel_req *r, const cJSON *labels)
{
	const cJSON *lv = obj_child(labels, r->key);
	const char *v = jis_str(lv) ? lv->valuestring : NULL;
	int64_t a, b;

	switch (r->op) {
	case SEL_IN:
	case SEL_EQUALS:
	case SEL_DOUBLE_EQUALS:
		return v && has_value(r, v);
	case SEL_NOT_IN:
	case SEL_NOT_EQUALS:
		return !v || !has_value(r, v);
	case SEL_EXISTS:
		return v != NULL;
	case SEL_DOES_NOT_EXIST:
		return v == NULL;
	case SEL_GT:
	case SEL_LT:
		if (!v || r->nvalues != 1 || !parse_int64(v, &a) || !parse_int64(r->values[0], &b))
			return false;
		return r->op == SEL_GT ? a > b : a < b;
	}
	return false;
}

bool sel_matches(const struct sel *s, const cJSON *labels)
{
	if (!s || s->nothing)
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (!req_matches(&s->reqs[i], labels))
			return false;
	return true;
}

bool sel_is_everything(const struct sel *s)
{
	return s && !s->nothing && s->n == 0;
}

char *sel_string(const struct sel *s)
{
	struct buf b = { 0 };
	buf_adds(&b, "");
	if (!s || s->nothing)
		return buf_steal(&b);
	for (size_t i = 0; i < s->n; i++) {
		const struct sel_req *r = &s->reqs[i];
		if (i)
			buf_addc(&b, ',');
		if (r->op == SEL_DOES_NOT_EXIST)
			buf_addc(&b, '!');
		buf_adds(&b, r->key);
		switch (r->op) {
		case SEL_EXISTS:
		case SEL_DOES_NOT_EXIST:
			continue;
		case SEL_IN:
		case SEL_NOT_IN:
			buf_adds(&b, r->op == SEL_IN ? " in (" : " notin (");
			break;
		case SEL_EQUALS:
		case SEL_DOUBLE_EQUALS:
		case SEL_NOT_EQUALS:
			buf_adds(&b, op_text(r->op));
			break;
		case SEL_GT:
			buf_addc(&b, '>');
			break;
		case SEL_LT:
			buf_addc(&b, '<');
			break;
		}
		for (size_t j = 0; j < r->nvalues; j++) {
			if (j)
				buf_addc(&b, ',');
			buf_adds(&b, r->values[j]);
		}
		if (r->op == SEL_IN || r->op == SEL_NOT_IN)
			buf_addc(&b, ')');
	}
	return buf_steal(&b);
}

/* ---- node affinity ------------------------------------------------------------- */

/* matchFields: metadata.name only, In/NotIn with exactly one value. */
static int field_req_matches(const cJSON *expr, const char *node_name, bool *match, struct err *e)
{
	if (!jis_obj(expr))
		return err_set(e, -EINVAL, "a field requirement must be an object");
	const char *key = obj_get_str(expr, "key");
	const char *op = obj_get_str(expr, "operator");
	const cJSON *values = obj_child(expr, "values");
	bool in;
	if (op && strcmp(op, "In") == 0)
		in = true;
	else if (op && strcmp(op, "NotIn") == 0)
		in = false;
	else
		return err_set(
		    e, -EINVAL,
		    "matchFields: unsupported operator \"%.40s\": supported values: \"In\", "
		    "\"NotIn\"",
		    op ? op : "");
	if (jlen(values) != 1 || !jis_arr(values) || !jis_str(values->child))
		return err_set(e, -EINVAL, "matchFields: values must have one element");
	/* Upstream knows only metadata.name; any other field reads as empty. */
	const char *have = key && strcmp(key, "metadata.name") == 0 ? node_name : "";
	bool eq = strcmp(have, values->child->valuestring) == 0;
	*match = in ? eq : !eq;
	return 0;
}

int sel_node_selector_term_matches(const cJSON *term, const cJSON *node, bool *match, struct err *e)
{
	const cJSON *exprs = obj_child(term, "matchExpressions");
	const cJSON *fields = obj_child(term, "matchFields");
	const cJSON *labels = obj_get(node, "metadata.labels");
	const char *name = obj_get_str(node, "metadata.name");
	struct sel_req r;
	bool ok = true;
	int rc = 0;

	*match = false;
	if (!jis_obj(term))
		return err_set(e, -EINVAL, "a node selector term must be an object");
	if (jlen(exprs) == 0 && jlen(fields) == 0)
		return 0; /* an empty term matches nothing */
	if (exprs && !jis_arr(exprs))
		return err_set(e, -EINVAL, "matchExpressions must be an array");
	if (fields && !jis_arr(fields))
		return err_set(e, -EINVAL, "matchFields must be an array");
	for (const cJSON *x = exprs ? exprs->child : NULL; x; x = x->next) {
		memset(&r, 0, sizeof(r));
		rc = expr_to_req(x, true, &r, e);
		if (rc == 0 && !req_matches(&r, labels))
			ok = false;
		req_clear(&r);
		if (rc < 0)
			return err_wrap(e, "matchExpressions");
	}
	/* As upstream, field requirements are ignored for a node without a name. */
	for (const cJSON *x = fields ? fields->child : NULL; x; x = x->next) {
		bool m = false;
		if ((rc = field_req_matches(x, name ? name : "", &m, e)) < 0)
			return rc;
		if (name && *name && !m)
			ok = false;
	}
	*match = ok;
	return 0;
}

int sel_node_selector_matches(const cJSON *node_selector, const cJSON *node, bool *match,
                              struct err *e)
{
	const cJSON *terms = obj_child(node_selector, "nodeSelectorTerms");
	int first = 0;
	*match = false;
	if (!jis_obj(node_selector))
		return err_set(e, -EINVAL, "a node selector must be an object");
	if (terms && !jis_null(terms) && !jis_arr(terms))
		return err_set(e, -EINVAL, "nodeSelectorTerms must be an array");
	struct err te = { 0 };
	for (const cJSON *t = terms ? terms->child : NULL; t; t = t->next) {
		bool m = false;
		int rc = sel_node_selector_term_matches(t, node, &m, &te);
		if (rc < 0) {
			/* Keep the first problem but give the other terms their chance. */
			if (!first) {
				first = rc;
				if (e)
					*e = te;
			}
			continue;
		}
		if (m) {
			*match = true;
			return 0;
		}
	}
	return first;
}
