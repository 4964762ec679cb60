/* json: dotted-path access, deep equality and copy, Go-compatible printing and parsing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/obj/obj-internal.h"

/* ---- small shared helpers ---------------------------------------------- */

void jput(cJSON *o, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, key)) {
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
		return;
	}
	jadd(o, key, v);
}

size_t jlen(const cJSON *v)
{
	size_t n = 0;
	if (!jis_container(v))
		return 0;
	for (const cJSON *c = v->child; c; c = c->next)
		n++;
	return n;
}

bool jint(const cJSON *v, int64_t *out)
{
	if (!jis_num(v))
		return false;
	double d = v->valuedouble;
	/* 2^63 is exactly representable; anything at or past it does not fit. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != trunc(d))
		return false;
	*out = (int64_t)d;
	return true;
}

const char *jtype_name(const cJSON *v)
{
	switch (jtype(v)) {
	case cJSON_False:
	case cJSON_True:
		return "boolean";
	case cJSON_NULL:
		return "null";
	case cJSON_Number:
		return "number";
	case cJSON_String:
		return "string";
	case cJSON_Array:
		return "array";
	case cJSON_Object:
		return "object";
	default:
		return "nothing";
	}
}

/* ---- paths --------------------------------------------------------------- */

/*
 * Reads the next step of a path into key (a field) or *idx (an index, >= 0).
 * Returns 1 for a step, 0 at the end, -1 for a malformed index.
 */
static int path_step(const char **pp, struct buf *key, long *idx)
{
	const char *p = *pp;
	if (!*p)
		return 0;
	if (*p == '.')
		p++;
	if (*p == '[') {
		long v = 0;
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			if (v > 100000000)
				return -1;
			v = v * 10 + (*p++ - '0');
		}
		if (*p != ']')
			return -1;
		*idx = v;
		*pp = p + 1;
		return 1;
	}
	buf_reset(key);
	buf_adds(key, "");
	while (*p && *p != '.' && *p != '[') {
		if (*p == '\\' && p[1])
			p++;
		buf_addc(key, *p++);
	}
	*idx = -1;
	*pp = p;
	return 1;
}

static cJSON *walk(const cJSON *root, const char *path)
{
	struct buf key = { 0 };
	long idx;
	int r;
	cJSON *cur = (cJSON *)root;

	while (cur && (r = path_step(&path, &key, &idx)) != 0) {
		if (r < 0) {
			cur = NULL;
			break;
		}
		if (idx >= 0)
			cur = jis_arr(cur) ? cJSON_GetArrayItem(cur, (int)idx) : NULL;
		else
			cur = jis_obj(cur) ? cJSON_GetObjectItemCaseSensitive(cur, key.data) : NULL;
	}
	buf_free(&key);
	return cur;
}

const cJSON *obj_get(const cJSON *root, const char *path)
{
	return walk(root, path);
}

cJSON *obj_get_mut(cJSON *root, const char *path)
{
	return walk(root, path);
}

const cJSON *obj_child(const cJSON *o, const char *key)
{
	return jis_obj(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

const char *obj_get_str(const cJSON *root, const char *path)
{
	const cJSON *v = walk(root, path);
	return jis_str(v) ? v->valuestring : NULL;
}

bool obj_get_i64(const cJSON *root, const char *path, int64_t *out)
{
	return jint(walk(root, path), out);
}

bool obj_get_bool(const cJSON *root, const char *path, bool *out)
{
	const cJSON *v = walk(root, path);
	if (!jis_bool(v))
		return false;
	*out = jtype(v) == cJSON_True;
	return true;
}

int obj_set(cJSON *root, const char *path, cJSON *value, struct err *e)
{
	struct buf key = { 0 }, next = { 0 };
	long idx, nidx;
	const char *p = path, *q;
	cJSON *cur = root;
	int r, rc = 0;

	r = path_step(&p, &key, &idx);
	if (r <= 0 || !cur) {
		rc = err_set(e, -EINVAL, "set %s: empty or malformed path", path);
		goto out;
	}
	for (;;) {
		q = p;
		int rn = path_step(&q, &next, &nidx);
		if (rn < 0) {
			rc = err_set(e, -EINVAL, "set %s: malformed index", path);
			goto out;
		}
		if (rn == 0) {
			/* Last step: put the value here. */
			if (idx >= 0) {
				if (!jis_arr(cur) || (size_t)idx > jlen(cur)) {
					rc = err_set(e, -EINVAL, "set %s: index %ld out of range",
					             path, idx);
					goto out;
				}
				if ((size_t)idx == jlen(cur))
					jappend(cur, value);
				else
					cJSON_ReplaceItemInArray(cur, (int)idx, value);
			} else {
				if (!jis_obj(cur)) {
					rc = err_set(e, -EINVAL,
					             "set %s: parent of %s is a %s, not an object",
					             path, key.data, jtype_name(cur));
					goto out;
				}
				jput(cur, key.data, value);
			}
			value = NULL;
			goto out;
		}
		cJSON *child;
		if (idx >= 0) {
			child = jis_arr(cur) ? cJSON_GetArrayItem(cur, (int)idx) : NULL;
			if (!child) {
				rc = err_set(e, -EINVAL, "set %s: no element %ld", path, idx);
				goto out;
			}
		} else {
			if (!jis_obj(cur)) {
				rc = err_set(e, -EINVAL,
				             "set %s: parent of %s is a %s, not an object", path,
				             key.data, jtype_name(cur));
				goto out;
			}
			child = cJSON_GetObjectItemCaseSensitive(cur, key.data);
			if (!child || jis_null(child)) {
				/* Missing intermediate: only objects can be made up. */
				if (nidx >= 0) {
					rc = err_set(e, -EINVAL, "set %s: no array at %s", path,
					             key.data);
					goto out;
				}
				child = jobj();
				jput(cur, key.data, child);
			}
		}
		cur = child;
		p = q;
		struct buf t = key;
		key = next;
		next = t;
		idx = nidx;
	}
out:
	if (value)
		cJSON_Delete(value);
	buf_free(&key);
	buf_free(&next);
	return rc;
}

int obj_set_str(cJSON *root, const char *path, const char *s, struct err *e)
{
	return obj_set(root, path, jstr(s), e);
}

int obj_set_i64(cJSON *root, const char *path, int64_t v, struct err *e)
{
	return obj_set(root, path, jnum((double)v), e);
}

bool obj_delete(cJSON *root, const char *path)
{
	/* Split off the last step and walk to its parent. */
	struct buf key = { 0 }, last = { 0 };
	const char *p = path, *last_start = path;
	long idx, last_idx = -1;
	int r;
	bool done = false;

	while ((r = path_step(&p, &key, &idx)) > 0) {
		if (!*p) {
			buf_add(&last, key.data ? key.data : "", key.len);
			last_idx = idx;
			break;
		}
		last_start = p;
	}
	if (r <= 0)
		goto out;
	{
		size_t plen = (size_t)(last_start - path);
		char *ppath = xstrndup(path, plen);
		cJSON *parent = plen ? walk(root, ppath) : root;
		free(ppath);
		if (last_idx >= 0) {
			if (jis_arr(parent) && (size_t)last_idx < jlen(parent)) {
				cJSON_DeleteItemFromArray(parent, (int)last_idx);
				done = true;
			}
		} else if (jis_obj(parent) && cJSON_GetObjectItemCaseSensitive(parent, last.data)) {
			cJSON_DeleteItemFromObjectCaseSensitive(parent, last.data);
			done = true;
		}
	}
out:
	buf_free(&key);
	buf_free(&last);
	return done;
}

/* ---- equality and copy ----------------------------------------------------- */

bool obj_equal(const cJSON *a, const cJSON *b)
{
	if (a == b)
		return true;
	if (!a || !b || jtype(a) != jtype(b))
		return false;
	switch (jtype(a)) {
	case cJSON_False:
	case cJSON_True:
	case cJSON_NULL:
		return true;
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
		return strcmp(a->valuestring, b->valuestring) == 0;
	case cJSON_Array: {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next)
			if (!obj_equal(x, y))
				return false;
		return !x && !y;
	}
	case cJSON_Object: {
		if (jlen(a) != jlen(b))
			return false;
		for (const cJSON *x = a->child; x; x = x->next) {
			const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (!y || !obj_equal(x, y))
				return false;
		}
		return true;
	}
	case cJSON_Raw:
		return strcmp(a->valuestring, b->valuestring) == 0;
	default:
		return false;
	}
}

cJSON *obj_dup(const cJSON *a)
{
	return a ? jchk(cJSON_Duplicate(a, true)) : NULL;
}

/* ---- printing ------------------------------------------------------------ */

void jnum_format(struct buf *b, double d)
{
	char tmp[48];
	if (isnan(d) || isinf(d)) {
		buf_adds(b, "null");
		return;
	}
	if (d == 0) {
		buf_addc(b, '0');
		return;
	}
	double a = fabs(d);
	if (a < 1e21 && d == trunc(d)) {
		buf_printf(b, "%.0f", d);
		return;
	}
	/* Shortest digits that read back as the same double, like Go's 'g' -1. */
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	char digits[24];
	size_t nd = 0;
	const char *s = tmp;
	if (*s == '-')
		s++;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && nd < sizeof(digits) - 1)
			digits[nd++] = *s;
	digits[nd] = '\0';
	int exp = *s == 'e' ? atoi(s + 1) : 0;
	if (d < 0)
		buf_addc(b, '-');
	if (a >= 1e-6 && a < 1e21) {
		if (exp >= 0) {
			for (int i = 0; i <= exp; i++)
				buf_addc(b, (size_t)i < nd ? digits[i] : '0');
			if ((size_t)exp + 1 < nd) {
				buf_addc(b, '.');
				buf_adds(b, digits + exp + 1);
			}
		} else {
			buf_adds(b, "0.");
			for (int i = 0; i < -exp - 1; i++)
				buf_addc(b, '0');
			buf_adds(b, digits);
		}
		return;
	}
	buf_addc(b, digits[0]);
	if (nd > 1) {
		buf_addc(b, '.');
		buf_adds(b, digits + 1);
	}
	buf_printf(b, "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not valid. */
static size_t utf8_valid(const unsigned char *s, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	uint32_t v, min;
	if ((c & 0xE0) == 0xC0) {
		n = 2;
		v = c & 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		v = c & 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

static void print_string(struct buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	buf_addc(b, '"');
	while (*s) {
		unsigned c = *s;
		uint32_t cp;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' &&
		    c != '&') {
			const unsigned char *run = s;
			while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\' && *s != '<' &&
			       *s != '>' && *s != '&')
				s++;
			buf_add(b, run, (size_t)(s - run));
			continue;
		}
		switch (c) {
		case '"':
			buf_adds(b, "\\\"");
			s++;
			continue;
		case '\\':
			buf_adds(b, "\\\\");
			s++;
			continue;
		case '\n':
			buf_adds(b, "\\n");
			s++;
			continue;
		case '\r':
			buf_adds(b, "\\r");
			s++;
			continue;
		case '\t':
			buf_adds(b, "\\t");
			s++;
			continue;
		default:
			break;
		}
		if (c < 0x80) {
			/* Other controls and the HTML-sensitive <, >, &, as Go escapes them. */
			char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
			buf_adds(b, u);
			s++;
			continue;
		}
		size_t n = utf8_valid(s, &cp);
		if (n == 0) {
			buf_adds(b, "\\ufffd");
			s++;
			continue;
		}
		if (cp == 0x2028 || cp == 0x2029) {
			buf_printf(b, "\\u%04x", (unsigned)cp);
		} else {
			buf_add(b, s, n);
		}
		s += n;
	}
	buf_addc(b, '"');
}

static int cmp_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

static void indent(struct buf *b, int depth)
{
	buf_addc(b, '\n');
	for (int i = 0; i < depth; i++)
		buf_adds(b, "  ");
}

static void print_value(struct buf *b, const cJSON *v, unsigned flags, int depth)
{
	bool pretty = flags & OBJ_PRINT_INDENT;
	switch (jtype(v)) {
	case cJSON_False:
		buf_adds(b, "false");
		return;
	case cJSON_True:
		buf_adds(b, "true");
		return;
	case cJSON_Number:
		jnum_format(b, v->valuedouble);
		return;
	case cJSON_String:
		print_string(b, v->valuestring);
		return;
	case cJSON_Raw:
		buf_adds(b, v->valuestring ? v->valuestring : "null");
		return;
	case cJSON_Array: {
		if (!v->child) {
			buf_adds(b, "[]");
			return;
		}
		buf_addc(b, '[');
		for (const cJSON *c = v->child; c; c = c->next) {
			if (c != v->child)
				buf_addc(b, ',');
			if (pretty)
				indent(b, depth + 1);
			print_value(b, c, flags, depth + 1);
		}
		if (pretty)
			indent(b, depth);
		buf_addc(b, ']');
		return;
	}
	case cJSON_Object: {
		size_t n = jlen(v), i = 0;
		if (n == 0) {
			buf_adds(b, "{}");
			return;
		}
		const cJSON *small[16];
		const cJSON **kids = n <= 16 ? small : xmalloc(n * sizeof(*kids));
		for (const cJSON *c = v->child; c; c = c->next)
			kids[i++] = c;
		if (flags & OBJ_PRINT_SORTED)
			qsort(kids, n, sizeof(*kids), cmp_keys);
		buf_addc(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				buf_addc(b, ',');
			if (pretty)
				indent(b, depth + 1);
			print_string(b, kids[i]->string ? kids[i]->string : "");
			buf_adds(b, pretty ? ": " : ":");
			print_value(b, kids[i], flags, depth + 1);
		}
		if (pretty)
			indent(b, depth);
		buf_addc(b, '}');
		if (kids != small)
			free(kids);
		return;
	}
	default:
		buf_adds(b, "null");
		return;
	}
}

void obj_print_buf(struct buf *out, const cJSON *v, unsigned flags)
{
	buf_adds(out, "");
	print_value(out, v, flags, 0);
}

char *obj_print(const cJSON *v, unsigned flags)
{
	struct buf b = { 0 };
	obj_print_buf(&b, v, flags);
	return buf_steal(&b);
}

/* ---- parsing ------------------------------------------------------------- */

static void line_col(const char *text, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int obj_parse(const char *text, size_t len, cJSON **out, struct err *e)
{
	const char *end = NULL;
	size_t line, col, off;

	*out = NULL;
	if (!text || len == 0)
		return err_set(e, -EINVAL, "invalid JSON: empty input");
	cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!v) {
		off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		line_col(text, off, &line, &col);
		return err_set(e, -EINVAL, "invalid JSON at line %zu, column %zu (offset %zu)",
		               line, col, off);
	}
	off = (size_t)(end - text);
	while (off < len &&
	       (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r'))
		off++;
	if (off < len) {
		cJSON_Delete(v);
		line_col(text, off, &line, &col);
		return err_set(
		    e, -EINVAL,
		    "invalid JSON: unexpected data after the value at line %zu, column %zu", line,
		    col);
	}
	*out = v;
	return 0;
}
