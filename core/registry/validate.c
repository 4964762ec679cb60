/* validate: causes, field paths, typed getters and the name/label/selector rules every kind uses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

void reg_err(struct reg_errors *errs, const char *type, const char *field, const char *fmt, ...)
{
	if (!errs)
		return;
	if (errs->n == errs->cap) {
		errs->cap = errs->cap ? errs->cap * 2 : 8;
		errs->v = xrealloc(errs->v, errs->cap * sizeof(*errs->v));
	}
	struct reg_cause *c = &errs->v[errs->n++];
	c->type = type;
	snprintf(c->field, sizeof(c->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
}

void reg_errors_free(struct reg_errors *errs)
{
	free(errs->v);
	errs->v = NULL;
	errs->n = errs->cap = 0;
}

/* --- paths ---------------------------------------------------------------------------------- */

void reg_vinit(struct reg_vctx *v, struct reg_errors *errs, const char *root)
{
	v->errs = errs;
	v->len = 0;
	v->path[0] = '\0';
	if (root && *root)
		reg_vkey(v, root);
}

static size_t vappend(struct reg_vctx *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static size_t vappend(struct reg_vctx *v, const char *fmt, ...)
{
	size_t mark = v->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v->path + v->len, sizeof(v->path) - v->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		v->len = MIN(v->len + (size_t)n, sizeof(v->path) - 1);
	return mark;
}

size_t reg_vkey(struct reg_vctx *v, const char *key)
{
	return v->len ? vappend(v, ".%s", key) : vappend(v, "%s", key);
}

size_t reg_vidx(struct reg_vctx *v, int i)
{
	return vappend(v, "[%d]", i);
}

size_t reg_vmap(struct reg_vctx *v, const char *key)
{
	return vappend(v, "[%s]", key);
}

void reg_vpop(struct reg_vctx *v, size_t mark)
{
	v->len = mark;
	v->path[mark] = '\0';
}

/* --- causes --------------------------------------------------------------------------------- */

/* Go's %q for the value in a message: quoted, with quotes and control characters escaped,
 * shortened so that one huge value cannot crowd the message out. */
static void quote(char *out, size_t outlen, const char *s)
{
	size_t o = 0;
	if (outlen < 8)
		return;
	out[o++] = '"';
	for (; *s && o + 8 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (*s && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static void field_of(struct reg_vctx *v, const char *key, char *out, size_t outlen)
{
	int n;
	if (!key)
		n = snprintf(out, outlen, "%s", v->path);
	else if (!v->len)
		n = snprintf(out, outlen, "%s", key);
	else
		n = snprintf(out, outlen, "%s.%s", v->path, key);
	/* A path too long for a cause is cut; it still says where the problem starts. */
	if (n < 0)
		out[0] = '\0';
}

static void value_text(const cJSON *value, char *out, size_t outlen)
{
	if (!value || cJSON_IsNull(value)) {
		snprintf(out, outlen, "null");
	} else if (cJSON_IsString(value)) {
		quote(out, outlen, value->valuestring);
	} else {
		char *s = cJSON_PrintUnformatted(value);
		if (!s) {
			snprintf(out, outlen, "?");
			return;
		}
		if (strlen(s) >= outlen)
			snprintf(out, outlen, "%.*s...", (int)(outlen - 4), s);
		else
			snprintf(out, outlen, "%s", s);
		cJSON_free(s);
	}
}

void reg_vreq(struct reg_vctx *v, const char *key, const char *detail)
{
	char f[256];
	field_of(v, key, f, sizeof(f));
	if (detail && *detail)
		reg_err(v->errs, "FieldValueRequired", f, "Required value: %s", detail);
	else
		reg_err(v->errs, "FieldValueRequired", f, "Required value");
}

static void invalid(struct reg_vctx *v, const char *key, const char *valtext, const char *fmt,
                    va_list ap)
{
	char f[256], detail[384];
	field_of(v, key, f, sizeof(f));
	vsnprintf(detail, sizeof(detail), fmt, ap);
	reg_err(v->errs, "FieldValueInvalid", f, "Invalid value: %s: %s", valtext, detail);
}

void reg_vinvalid(struct reg_vctx *v, const char *key, const cJSON *value, const char *fmt, ...)
{
	char val[128];
	value_text(value, val, sizeof(val));
	va_list ap;
	va_start(ap, fmt);
	invalid(v, key, val, fmt, ap);
	va_end(ap);
}

void reg_vinvalid_str(struct reg_vctx *v, const char *key, const char *value, const char *fmt, ...)
{
	char val[128];
	quote(val, sizeof(val), value ? value : "");
	va_list ap;
	va_start(ap, fmt);
	invalid(v, key, val, fmt, ap);
	va_end(ap);
}

void reg_vinvalid_int(struct reg_vctx *v, const char *key, int64_t value, const char *fmt, ...)
{
	char val[32];
	snprintf(val, sizeof(val), "%lld", (long long)value);
	va_list ap;
	va_start(ap, fmt);
	invalid(v, key, val, fmt, ap);
	va_end(ap);
}

void reg_vunsupported(struct reg_vctx *v, const char *key, const char *value,
                      const char *const *supported)
{
	char f[256], val[128], list[256] = "";
	size_t o = 0;
	field_of(v, key, f, sizeof(f));
	quote(val, sizeof(val), value ? value : "");
	for (int i = 0; supported && supported[i] && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s\"%s\"", i ? ", " : "",
		                      supported[i]);
	reg_err(v->errs, "FieldValueNotSupported", f, "Unsupported value: %s: supported values: %s",
	        val, list);
}

void reg_vduplicate(struct reg_vctx *v, const char *key, const cJSON *value)
{
	char f[256], val[160];
	field_of(v, key, f, sizeof(f));
	value_text(value, val, sizeof(val));
	reg_err(v->errs, "FieldValueDuplicate", f, "Duplicate value: %s", val);
}

void reg_vforbidden(struct reg_vctx *v, const char *key, const char *fmt, ...)
{
	char f[256], detail[448];
	field_of(v, key, f, sizeof(f));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	reg_err(v->errs, "FieldValueForbidden", f, "Forbidden: %s", detail);
}

void reg_vtoolong(struct reg_vctx *v, const char *key, int max)
{
	char f[256];
	field_of(v, key, f, sizeof(f));
	reg_err(v->errs, "FieldValueTooLong", f, "Too long: may not be more than %d bytes", max);
}

/* --- typed getters -------------------------------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *key)
{
	if (!cJSON_IsObject(o))
		return NULL;
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNull(it) ? NULL : it;
}

static void wrong_type(struct reg_vctx *v, const char *key, const cJSON *it, const char *what)
{
	reg_vinvalid(v, key, it, "must be %s", what);
}

/* The member when it is of the kind is() accepts; NULL when absent, or (reported) of another. */
static const cJSON *typed(struct reg_vctx *v, const cJSON *o, const char *key,
                          cJSON_bool (*is)(const cJSON *), const char *what)
{
	const cJSON *it = member(o, key);
	if (it && !is(it)) {
		wrong_type(v, key, it, what);
		return NULL;
	}
	return it;
}

static cJSON_bool is_int(const cJSON *it)
{
	int64_t x;
	return reg_json_int(it, &x);
}

const char *reg_vstr(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const cJSON *it = typed(v, o, key, cJSON_IsString, "a string");
	return it ? it->valuestring : NULL;
}

bool reg_vmissing(const cJSON *o, const char *key)
{
	const cJSON *it = member(o, key);
	return !it || (cJSON_IsString(it) && !*it->valuestring);
}

const char *reg_vstr_req(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const char *s = reg_vstr(v, o, key);
	if ((s && !*s) || (!s && reg_vmissing(o, key)))
		reg_vreq(v, key, NULL);
	return s && *s ? s : NULL;
}

bool reg_vint(struct reg_vctx *v, const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *it = typed(v, o, key, is_int, "an integer");
	return it && reg_json_int(it, out);
}

int reg_vbool(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const cJSON *it = typed(v, o, key, cJSON_IsBool, "a boolean");
	return it ? cJSON_IsTrue(it) : -1;
}

const cJSON *reg_vobj(struct reg_vctx *v, const cJSON *o, const char *key)
{
	return typed(v, o, key, cJSON_IsObject, "an object");
}

const cJSON *reg_varr(struct reg_vctx *v, const cJSON *o, const char *key)
{
	return typed(v, o, key, cJSON_IsArray, "a list");
}

const cJSON *reg_vstrlist(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const cJSON *arr = reg_varr(v, o, key), *it;
	int i = 0;
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsString(it)) {
			size_t m = reg_vkey(v, key);
			reg_vidx(v, i);
			reg_vinvalid(v, NULL, it, "must be a string");
			reg_vpop(v, m);
		}
		i++;
	}
	return arr;
}

const cJSON *reg_vstrfields(struct reg_vctx *v, const cJSON *o, const char *key,
                            const char *const *fields)
{
	const cJSON *it = reg_vobj(v, o, key);
	if (!it)
		return NULL;
	size_t m = reg_vkey(v, key);
	for (size_t i = 0; fields[i]; i++)
		reg_vstr(v, it, fields[i]);
	reg_vpop(v, m);
	return it;
}

const char *const reg_ref_fields[] = { "kind",       "namespace",       "name",      "uid",
	                               "apiVersion", "resourceVersion", "fieldPath", NULL };

bool reg_vtime(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const char *t = reg_vstr(v, o, key);
	int64_t x;
	if (t && !reg_parse_time(t, &x)) {
		reg_vinvalid_str(v, key, t, "must be an RFC 3339 time");
		return false;
	}
	return t != NULL;
}

const cJSON *reg_vstrmap(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const cJSON *m = reg_vobj(v, o, key);
	const cJSON *it;
	if (!m)
		return NULL;
	size_t mark = reg_vkey(v, key);
	cJSON_ArrayForEach(it, m)
	{
		if (!cJSON_IsString(it) && !cJSON_IsNull(it)) {
			size_t m2 = reg_vmap(v, it->string);
			reg_vinvalid(v, NULL, it, "must be a string");
			reg_vpop(v, m2);
		}
	}
	reg_vpop(v, mark);
	return m;
}

bool reg_vnonneg(struct reg_vctx *v, const cJSON *o, const char *key, int64_t *out)
{
	int64_t x;
	if (!reg_vint(v, o, key, &x))
		return false;
	if (x < 0)
		reg_vinvalid_int(v, key, x, "must be greater than or equal to 0");
	if (out)
		*out = x;
	return true;
}

bool reg_vpositive(struct reg_vctx *v, const cJSON *o, const char *key, int64_t *out)
{
	int64_t x;
	if (!reg_vint(v, o, key, &x))
		return false;
	if (x <= 0)
		reg_vinvalid_int(v, key, x, "must be greater than zero");
	if (out)
		*out = x;
	return true;
}

const char *reg_venum(struct reg_vctx *v, const cJSON *o, const char *key, bool required,
                      const char *const *supported)
{
	const char *s = reg_vstr(v, o, key);
	if (!s || !*s) {
		if (required && !(member(o, key) && !cJSON_IsString(member(o, key))))
			reg_vreq(v, key, NULL);
		return NULL;
	}
	for (int i = 0; supported[i]; i++)
		if (strcmp(s, supported[i]) == 0)
			return s;
	reg_vunsupported(v, key, s, supported);
	return s;
}

void reg_vimmutable(struct reg_vctx *v, const cJSON *o, const cJSON *old, const char *key)
{
	const cJSON *a = member(o, key), *b = member(old, key);
	if (!reg_json_equal(a, b))
		reg_vinvalid(v, key, a, "field is immutable");
}

/* --- names ---------------------------------------------------------------------------------- */

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return isalnum((unsigned char)c) != 0;
}

const char *reg_check_config_key(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "must not be empty";
	if (n > 253)
		return "must be no more than 253 characters";
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "a valid config key must be letters, digits, '-', '_' or '.' (e.g. "
			       "'key.name' or 'KEY_NAME')";
	if (strcmp(s, ".") == 0)
		return "must not be '.'";
	if (strcmp(s, "..") == 0)
		return "must not be '..'";
	if (strncmp(s, "..", 2) == 0)
		return "must not start with '..'";
	return NULL;
}

const char *reg_check_path_segment(const char *s)
{
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "may not be '.' or '..'";
	if (strchr(s, '/'))
		return "may not contain '/'";
	if (strchr(s, '%'))
		return "may not contain '%'";
	return NULL;
}

void reg_check_port_name(struct reg_vctx *v, const char *key, const char *name)
{
	size_t n = strlen(name);
	bool letter = false;
	if (n > 15)
		reg_vinvalid_str(v, key, name, "must be no more than 15 characters");
	for (size_t i = 0; i < n; i++) {
		if (!alnum_lower(name[i]) && name[i] != '-') {
			reg_vinvalid_str(v, key, name,
			                 "must contain only lower case letters, digits and '-'");
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		letter |= name[i] >= 'a' && name[i] <= 'z';
	if (!letter)
		reg_vinvalid_str(v, key, name, "must contain at least one letter (a-z)");
	if (strstr(name, "--"))
		reg_vinvalid_str(v, key, name, "must not contain consecutive hyphens");
	if (n && (name[0] == '-' || name[n - 1] == '-'))
		reg_vinvalid_str(v, key, name, "must not begin or end with a hyphen");
}

bool reg_is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

bool reg_is_cidr(const char *s)
{
	const char *slash = strchr(s, '/');
	char ip[64];
	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	uint64_t bits;
	if (!parse_u64(slash + 1, &bits))
		return false;
	unsigned char buf[16];
	if (inet_pton(AF_INET, ip, buf) == 1)
		return bits <= 32;
	return inet_pton(AF_INET6, ip, buf) == 1 && bits <= 128;
}

bool reg_vrule(struct reg_vctx *v, const char *key, const char *s,
               int (*rule)(const char *s, struct err *e))
{
	struct err e = { 0 };
	if (rule(s, &e) == 0)
		return true;
	reg_vinvalid_str(v, key, s, "%s", e.msg);
	return false;
}

void reg_vdns_label(struct reg_vctx *v, const char *key, const char *s)
{
	reg_vrule(v, key, s, obj_validate_dns1123_label);
}

void reg_vdns_subdomain(struct reg_vctx *v, const char *key, const char *s)
{
	reg_vrule(v, key, s, obj_validate_dns1123_subdomain);
}

void reg_vqualified(struct reg_vctx *v, const char *key, const char *s)
{
	reg_vrule(v, key, s, obj_validate_qualified_name);
}

void reg_vlabel_value(struct reg_vctx *v, const char *key, const char *s)
{
	reg_vrule(v, key, s, obj_validate_label_value);
}

/* Label maps: keys are qualified names, values label values. Path of a bad key is the map
 * itself, as upstream reports it. */
void reg_vlabels(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const cJSON *m = reg_vstrmap(v, o, key), *it;
	if (!m)
		return;
	size_t mark = reg_vkey(v, key);
	cJSON_ArrayForEach(it, m)
	{
		reg_vqualified(v, NULL, it->string);
		if (cJSON_IsString(it))
			reg_vlabel_value(v, NULL, it->valuestring);
	}
	reg_vpop(v, mark);
}

void reg_vport(struct reg_vctx *v, const cJSON *o, const char *key, bool required)
{
	int64_t p;
	if (!reg_vint(v, o, key, &p)) {
		if (required && !member(o, key))
			reg_vreq(v, key, NULL);
		return;
	}
	if (p < 1 || p > 65535)
		reg_vinvalid_int(v, key, p, "must be between 1 and 65535, inclusive");
}

/* --- selectors ------------------------------------------------------------------------------ */

static const char *const selector_ops[] = { "In", "NotIn", "Exists", "DoesNotExist", NULL };

void reg_vselector(struct reg_vctx *v, const cJSON *o, const char *key)
{
	const cJSON *sel = reg_vobj(v, o, key);
	if (!sel)
		return;
	size_t mark = reg_vkey(v, key);
	reg_vselector_obj(v, sel);
	reg_vpop(v, mark);
}

void reg_vselector_obj(struct reg_vctx *v, const cJSON *sel)
{
	const cJSON *it;
	if (!cJSON_IsObject(sel)) {
		reg_vinvalid(v, NULL, sel, "must be an object");
		return;
	}
	reg_vlabels(v, sel, "matchLabels");
	const cJSON *exprs = reg_varr(v, sel, "matchExpressions");
	int i = 0;
	cJSON_ArrayForEach(it, exprs)
	{
		size_t m2 = reg_vkey(v, "matchExpressions");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(it)) {
			reg_vinvalid(v, NULL, it, "must be an object");
			reg_vpop(v, m2);
			continue;
		}
		const char *k = reg_vstr_req(v, it, "key");
		if (k)
			reg_vqualified(v, "key", k);
		const char *op = reg_venum(v, it, "operator", true, selector_ops);
		const cJSON *vals = reg_varr(v, it, "values");
		int nv = reg_count(vals);
		if (op && (!strcmp(op, "In") || !strcmp(op, "NotIn")) && nv == 0)
			reg_vreq(v, "values",
			         "must be specified when `operator` is 'In' or 'NotIn'");
		if (op && (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) && nv > 0)
			reg_vforbidden(v, "values",
			               "may not be specified when `operator` is 'Exists' or "
			               "'DoesNotExist'");
		const cJSON *val;
		int j = 0;
		cJSON_ArrayForEach(val, vals)
		{
			size_t m3 = reg_vkey(v, "values");
			reg_vidx(v, j++);
			if (!cJSON_IsString(val))
				reg_vinvalid(v, NULL, val, "must be a string");
			else
				reg_vlabel_value(v, NULL, val->valuestring);
			reg_vpop(v, m3);
		}
		reg_vpop(v, m2);
	}
}

bool reg_selector_empty(const cJSON *sel)
{
	return reg_count(reg_get(sel, "matchLabels")) == 0 &&
	       reg_count(reg_get(sel, "matchExpressions")) == 0;
}

static bool in_values(const cJSON *vals, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, vals)
	{
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	}
	return false;
}

bool reg_selector_matches(const cJSON *sel, const cJSON *labels)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, reg_at_obj(sel, "matchLabels"))
	{
		const char *have = reg_get_str(labels, it->string);
		if (!cJSON_IsString(it) || !have || strcmp(have, it->valuestring) != 0)
			return false;
	}
	cJSON_ArrayForEach(it, reg_at_arr(sel, "matchExpressions"))
	{
		const char *k = reg_at_str(it, "key"), *op = reg_at_str(it, "operator");
		const cJSON *vals = reg_get(it, "values");
		if (!k || !op)
			return false;
		const char *have = reg_get_str(labels, k);
		if (!strcmp(op, "In")) {
			if (!have || !in_values(vals, have))
				return false;
		} else if (!strcmp(op, "NotIn")) {
			if (have && in_values(vals, have))
				return false;
		} else if (!strcmp(op, "Exists")) {
			if (!have)
				return false;
		} else if (!strcmp(op, "DoesNotExist")) {
			if (have)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void reg_format_labels(const cJSON *map, struct buf *b)
{
	int n = reg_count(map), k = 0;
	const char **keys = xcalloc((size_t)n + 1, sizeof(*keys));
	const cJSON *it;
	cJSON_ArrayForEach(it, (cJSON_IsObject(map) ? map : NULL))
	{
		keys[k++] = it->string;
	}
	qsort(keys, (size_t)k, sizeof(*keys), cmp_str);
	for (int i = 0; i < k; i++) {
		const char *v = reg_get_str(map, keys[i]);
		buf_printf(b, "%s%s=%s", i ? "," : "", keys[i], v ? v : "");
	}
	if (k == 0)
		buf_adds(b, "<none>");
	free(keys);
}

/* One requirement of a selector, ready to sort by key as upstream's selector does. */
struct req {
	const char *key;
	char *text;
};

static int cmp_req(const void *a, const void *b)
{
	return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

/* labels.Selector.String() of LabelSelectorAsSelector(sel): 0, or -EINVAL when the selector
 * cannot be converted (upstream prints "<error>" or "<invalid>" then). */
static int selector_text(const cJSON *sel, struct buf *b)
{
	int n =
	    reg_count(reg_get(sel, "matchLabels")) + reg_count(reg_get(sel, "matchExpressions"));
	struct req *r = xcalloc((size_t)n + 1, sizeof(*r));
	int k = 0, rc = 0;
	const cJSON *it;
	/* Keys and values are checked as upstream's requirements check them. */
	cJSON_ArrayForEach(it, reg_at_obj(sel, "matchLabels"))
	{
		if (!cJSON_IsString(it) || obj_validate_qualified_name(it->string, NULL) ||
		    obj_validate_label_value(it->valuestring, NULL)) {
			rc = -EINVAL;
			goto out;
		}
		r[k].key = it->string;
		r[k++].text = xasprintf("%s=%s", it->string, it->valuestring);
	}
	cJSON_ArrayForEach(it, reg_at_arr(sel, "matchExpressions"))
	{
		const char *key = reg_at_str(it, "key"), *op = reg_at_str(it, "operator");
		const cJSON *vals = reg_at_arr(it, "values"), *val;
		if (!key || !op || obj_validate_qualified_name(key, NULL) ||
		    (reg_get(it, "values") && !vals)) {
			rc = -EINVAL;
			goto out;
		}
		int nv = reg_count(vals), j = 0;
		const char **vs = xcalloc((size_t)nv + 1, sizeof(*vs));
		cJSON_ArrayForEach(val, vals)
		{
			if (!cJSON_IsString(val) ||
			    obj_validate_label_value(val->valuestring, NULL))
				rc = -EINVAL;
			else
				vs[j++] = val->valuestring;
		}
		qsort(vs, (size_t)j, sizeof(*vs), cmp_str);
		struct buf t = { 0 };
		if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
			buf_printf(&t, "%s %s (", key, !strcmp(op, "In") ? "in" : "notin");
			for (int i = 0; i < j; i++)
				buf_printf(&t, "%s%s", i ? "," : "", vs[i]);
			buf_addc(&t, ')');
			if (j == 0)
				rc = -EINVAL;
		} else if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
			buf_printf(&t, "%s%s", op[0] == 'D' ? "!" : "", key);
			if (nv)
				rc = -EINVAL;
		} else {
			rc = -EINVAL;
		}
		free(vs);
		r[k].key = key;
		r[k++].text = buf_steal(&t);
		if (rc)
			goto out;
	}
	qsort(r, (size_t)k, sizeof(*r), cmp_req);
	for (int i = 0; i < k; i++)
		buf_printf(b, "%s%s", i ? "," : "", r[i].text);
out:
	for (int i = 0; i < k; i++)
		free(r[i].text);
	free(r);
	return rc;
}

int reg_selector_string(const cJSON *selector, char *out, size_t outlen)
{
	struct buf b = { 0 };
	int rc = selector_text(selector, &b);
	if (outlen)
		snprintf(out, outlen, "%s", rc || !b.data ? "" : b.data);
	buf_free(&b);
	return rc;
}

void reg_format_selector(const cJSON *sel, struct buf *b)
{
	struct buf t = { 0 };
	if (!cJSON_IsObject(sel))
		buf_adds(b, "<none>");
	else if (selector_text(sel, &t))
		buf_adds(b, "<error>");
	else
		buf_adds(b, t.len ? t.data : "<none>");
	buf_free(&t);
}
