/* fieldsel: field selectors (f=v, f!=v, comma for AND), parsed and matched as upstream does. */
#include <stdio.h>
#include <string.h>

#include "core/obj/obj-internal.h"

void fsel_free(struct fsel *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->terms[i].field);
		free(s->terms[i].value);
	}
	free(s->terms);
	free(s);
}

/* Value unescaping: \\ \, \= are the escapes; a bare , or = is an error. */
static int unescape(const char *s, size_t n, char **out, struct err *e)
{
	struct buf b = { 0 };
	bool slash = false;
	buf_reserve(&b, n);
	buf_adds(&b, "");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (slash) {
			if (c != '\\' && c != ',' && c != '=') {
				buf_free(&b);
				return err_set(
				    e, -EINVAL,
				    "invalid field selector: invalid escape sequence: \\%c", c);
			}
			buf_addc(&b, c);
			slash = false;
			continue;
		}
		if (c == '\\') {
			slash = true;
		} else if (c == ',' || c == '=') {
			buf_free(&b);
			return err_set(e, -EINVAL,
			               "invalid field selector: unescaped character in value: %c",
			               c);
		} else {
			buf_addc(&b, c);
		}
	}
	if (slash) {
		buf_free(&b);
		return err_set(e, -EINVAL, "invalid field selector: invalid escape sequence: \\");
	}
	*out = buf_steal(&b);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fsel_parse(const char *s, struct fsel **out, struct err *e)
{
	struct fsel *sel = xcalloc(1, sizeof(*sel));
	char **parts = NULL;
	size_t nparts = 0;
	int rc = 0;

	*out = NULL;
	if (!s)
		s = "";
	/* Split at commas that no backslash escapes. */
	if (*s) {
		const char *start = s;
		bool slash = false;
		for (const char *p = s;; p++) {
			if (!*p || (!slash && *p == ',')) {
				parts = xrealloc(parts, (nparts + 1) * sizeof(*parts));
				parts[nparts++] = xstrndup(start, (size_t)(p - start));
				if (!*p)
					break;
				start = p + 1;
				continue;
			}
			slash = !slash && *p == '\\';
		}
	}
	/* Upstream sorts the raw terms, which orders the requirements. */
	if (nparts)
		qsort(parts, nparts, sizeof(*parts), cmp_str);
	for (size_t i = 0; i < nparts; i++) {
		const char *t = parts[i];
		if (!*t)
			continue;
		/* The first place where "!=", "==" or "=" starts splits field and value. */
		size_t at = 0, oplen = 0;
		bool negate = false;
		for (; t[at]; at++) {
			if (t[at] == '!' && t[at + 1] == '=') {
				oplen = 2;
				negate = true;
				break;
			}
			if (t[at] == '=') {
				oplen = t[at + 1] == '=' ? 2 : 1;
				break;
			}
		}
		if (!oplen) {
			rc = err_set(e, -EINVAL,
			             "invalid selector: '%.120s'; can't understand '%.120s'", s, t);
			goto out;
		}
		char *value = NULL;
		if ((rc = unescape(t + at + oplen, strlen(t + at + oplen), &value, e)) < 0)
			goto out;
		sel->terms = xrealloc(sel->terms, (sel->n + 1) * sizeof(*sel->terms));
		sel->terms[sel->n].field = xstrndup(t, at);
		sel->terms[sel->n].value = value;
		sel->terms[sel->n].negate = negate;
		sel->n++;
	}
	*out = sel;
	sel = NULL;
out:
	for (size_t i = 0; i < nparts; i++)
		free(parts[i]);
	free(parts);
	fsel_free(sel);
	return rc;
}

int fsel_matches(const struct fsel *s, fsel_getter get, void *ctx, bool *match, struct err *e)
{
	*match = true;
	for (size_t i = 0; s && i < s->n; i++) {
		const char *v = NULL;
		if (!get(ctx, s->terms[i].field, &v)) {
			*match = false;
			return err_set(e, -EINVAL, "field label not supported: %.120s",
			               s->terms[i].field);
		}
		bool eq = strcmp(v ? v : "", s->terms[i].value) == 0;
		if (s->terms[i].negate ? eq : !eq)
			*match = false;
	}
	return 0;
}

/* The selector's text form of a JSON value: what a typed getter would return. */
static const char *json_field(const cJSON *v, char *tmp, size_t n)
{
	int64_t i;
	if (jis_str(v))
		return v->valuestring;
	if (jtype(v) == cJSON_True)
		return "true";
	if (jtype(v) == cJSON_False)
		return "false";
	if (jint(v, &i)) {
		snprintf(tmp, n, "%lld", (long long)i);
		return tmp;
	}
	return "";
}

bool fsel_matches_json(const struct fsel *s, const cJSON *obj)
{
	char tmp[32];
	for (size_t i = 0; s && i < s->n; i++) {
		const char *v = json_field(obj_get(obj, s->terms[i].field), tmp, sizeof(tmp));
		bool eq = strcmp(v, s->terms[i].value) == 0;
		if (s->terms[i].negate ? eq : !eq)
			return false;
	}
	return true;
}

int fsel_check_fields(const struct fsel *s, const char *const *allowed, struct err *e)
{
	for (size_t i = 0; s && i < s->n; i++) {
		bool ok = false;
		for (const char *const *a = allowed; a && *a && !ok; a++)
			ok = strcmp(*a, s->terms[i].field) == 0;
		if (!ok)
			return err_set(e, -EINVAL, "field label not supported: %.120s",
			               s->terms[i].field);
	}
	return 0;
}

const char *fsel_exact(const struct fsel *s, const char *field)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!s->terms[i].negate && strcmp(s->terms[i].field, field) == 0)
			return s->terms[i].value;
	return NULL;
}

char *fsel_string(const struct fsel *s)
{
	struct buf b = { 0 };
	buf_adds(&b, "");
	for (size_t i = 0; s && i < s->n; i++) {
		if (i)
			buf_addc(&b, ',');
		buf_adds(&b, s->terms[i].field);
		buf_adds(&b, s->terms[i].negate ? "!=" : "=");
		for (const char *p = s->terms[i].value; *p; p++) {
			if (*p == '\\' || *p == ',' || *p == '=')
				buf_addc(&b, '\\');
			buf_addc(&b, *p);
		}
	}
	return buf_steal(&b);
}
