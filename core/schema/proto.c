/* schema proto: Kubernetes protobuf request bodies into the JSON a JSON client sends, by the table. */
#include <stdio.h>
#include <string.h>

#include "core/obj/obj.h"
#include "core/schema/schema-internal.h"
#include "core/schema/schema.h"

/*
 * kubectl's typed commands (create deployment, create secret, drain, certificate approve)
 * send objects as Kubernetes protobuf: the bytes "k8s\0", then a runtime.Unknown message
 * {typeMeta {apiVersion 1, kind 2} 1, raw 2, contentEncoding 3, contentType 4} whose raw is
 * the object's own message. Those messages are generated from the Go structs that the type
 * table already describes for OpenAPI, so the table says how to read them too: every field
 * carries its number and whether Go's JSON drops its zero value, and the wire form follows
 * from the field's type. The result is the object a JSON client would have sent and goes
 * down the same path, so nothing after decoding knows a body was protobuf.
 *
 * As in Go's decoder, unknown fields are skipped (a newer client may send fields we do not
 * serve) and a field seen twice merges: the last scalar wins, messages merge, lists append,
 * map entries replace. Malformed input is an error, never a crash: every length is checked
 * against what is left and nesting is bounded.
 */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* Messages nest at most this deep; a CronJob down to a probe's HTTP headers is about 12. */
#define MAX_DEPTH 48

/* One field value as it is on the wire. */
struct wire {
	int wt;
	uint64_t v;       /* VARINT, I64, I32 */
	const uint8_t *p; /* LEN */
	size_t n;
};

struct rd {
	const uint8_t *p, *end;
};

struct dec {
	const struct model *m;
	struct err *e;
	int depth;
	char path[256]; /* the field being decoded, for messages: "spec.template.spec" */
	size_t plen;
};

static int bad(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct dec *d, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(d->e, -EBADMSG, "protobuf: %s%s%s", d->path, d->plen ? ": " : "", what);
}

static int oom(struct dec *d)
{
	return err_set(d->e, -ENOMEM, "protobuf: out of memory");
}

/* -1 at the end of the data, -2 past ten bytes. */
static int varint(struct rd *r, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p == r->end)
			return -1;
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -2;
}

static int read_varint(struct dec *d, struct rd *r, uint64_t *out)
{
	int rc = varint(r, out);
	if (rc == -1)
		return bad(d, "unexpected end of data");
	if (rc == -2)
		return bad(d, "varint longer than 10 bytes");
	return 0;
}

static int skip_group(struct dec *d, struct rd *r, uint32_t num);

/* The next field of a message: its number and value. A group is skipped whole (nothing we
 * serve uses groups) and comes back as WT_SGROUP; an end-group marker as WT_EGROUP. */
static int next(struct dec *d, struct rd *r, uint32_t *num, struct wire *w)
{
	uint64_t key;
	int rc = read_varint(d, r, &key);
	if (rc < 0)
		return rc;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return bad(d, "illegal field number %llu", (unsigned long long)(key >> 3));
	*num = (uint32_t)(key >> 3);
	memset(w, 0, sizeof(*w));
	w->wt = (int)(key & 7);
	size_t left = (size_t)(r->end - r->p);
	switch (w->wt) {
	case WT_VARINT:
		return read_varint(d, r, &w->v);
	case WT_I64:
	case WT_I32: {
		size_t k = w->wt == WT_I64 ? 8 : 4;
		if (left < k)
			return bad(d, "unexpected end of data");
		for (size_t i = 0; i < k; i++)
			w->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += k;
		return 0;
	}
	case WT_LEN: {
		uint64_t n;
		if ((rc = read_varint(d, r, &n)) < 0)
			return rc;
		if (n > (uint64_t)(r->end - r->p))
			return bad(d, "length %llu runs past the end of the data",
			           (unsigned long long)n);
		w->p = r->p;
		w->n = (size_t)n;
		r->p += n;
		return 0;
	}
	case WT_SGROUP:
		return skip_group(d, r, *num);
	case WT_EGROUP:
		return 0;
	default:
		return bad(d, "illegal wire type %d", w->wt);
	}
}

static int skip_group(struct dec *d, struct rd *r, uint32_t num)
{
	if (++d->depth > MAX_DEPTH)
		return bad(d, "nested more than %d deep", MAX_DEPTH);
	for (;;) {
		uint32_t n;
		struct wire w;
		if (r->p == r->end)
			return bad(d, "unexpected end of data in a group");
		int rc = next(d, r, &n, &w);
		if (rc < 0)
			return rc;
		if (w.wt == WT_EGROUP) {
			if (n != num)
				return bad(d, "group %u ends as %u", num, n);
			d->depth--;
			return 0;
		}
	}
}

static size_t push(struct dec *d, struct sstr name)
{
	size_t mark = d->plen;
	int n = snprintf(d->path + d->plen, sizeof(d->path) - d->plen, "%s%.*s", d->plen ? "." : "",
	                 (int)name.n, name.p);
	if (n > 0)
		d->plen = MIN(d->plen + (size_t)n, sizeof(d->path) - 1);
	return mark;
}

static void pop(struct dec *d, size_t mark)
{
	d->plen = mark;
	d->path[mark] = '\0';
}

static const char *wt_name(int wt)
{
	static const char *const names[] = { "varint", "fixed64",   "bytes",
		                             "group",  "end group", "fixed32" };
	return wt >= 0 && wt < (int)ARRAY_SIZE(names) ? names[wt] : "?";
}

static int wrong_type(struct dec *d, int got, int want)
{
	return bad(d, "wire type %s where %s belongs", wt_name(got), wt_name(want));
}

/* A JSON string from n bytes. cJSON strings end at a NUL, so a NUL inside is refused. */
static int string(struct dec *d, const uint8_t *p, size_t n, cJSON **out)
{
	if (n && memchr(p, 0, n))
		return bad(d, "string contains a NUL byte");
	char *s = xstrndup((const char *)p, n);
	*out = cJSON_CreateString(s);
	free(s);
	return *out ? 0 : oom(d);
}

static cJSON *base64(const uint8_t *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = xmalloc(4 * ((n + 2) / 3) + 1), *o = s;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = '\0';
	cJSON *j = cJSON_CreateString(s);
	free(s);
	return j;
}

/* Calendar date of a day count from 1970-01-01 (proleptic Gregorian, 400-year eras). */
static void civil(int64_t days, int64_t *y, unsigned *mon, unsigned *mday)
{
	days += 719468; /* from 0000-03-01, so that leap days end a year */
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*mday = doy - (153 * mp + 2) / 5 + 1;
	*mon = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*mon <= 2);
}

/*
 * The fields 1..n of a small message (Time, IntOrString, Quantity, RawExtension, a map entry,
 * the envelope): field k must have wire type want[k-1]; the last occurrence wins, others are
 * skipped. got[] keeps what the caller put there for absent fields. Returns a bit per field
 * seen (bit k-1 for field k), or a negative error.
 */
static int small(struct dec *d, const uint8_t *p, size_t len, const uint8_t *want, struct wire *got,
                 unsigned n)
{
	struct rd r = { p, p + len };
	int seen = 0;
	while (r.p < r.end) {
		uint32_t num;
		struct wire w;
		int rc = next(d, &r, &num, &w);
		if (rc < 0)
			return rc;
		if (w.wt == WT_EGROUP)
			return bad(d, "unexpected end of group");
		if (num > n)
			continue;
		if (w.wt != want[num - 1])
			return wrong_type(d, w.wt, want[num - 1]);
		got[num - 1] = w;
		seen |= 1 << (num - 1);
	}
	return seen;
}

/* meta.Time and MicroTime: {seconds 1, nanos 2}, as RFC 3339 in UTC the way Go's JSON writes
 * them (Time to the second, MicroTime with six digits). Go writes a zero time as an empty
 * message and JSON null, so that is what an empty message gives. */
static int timestamp(struct dec *d, const struct wire *w, bool micro, cJSON **out)
{
	static const uint8_t want[] = { WT_VARINT, WT_VARINT };
	struct wire f[2] = { { 0 }, { 0 } };
	int rc;
	if (!w->n) {
		*out = cJSON_CreateNull();
		return *out ? 0 : oom(d);
	}
	if ((rc = small(d, w->p, w->n, want, f, 2)) < 0)
		return rc;
	int64_t sec = (int64_t)f[0].v, nsec = (int32_t)(uint32_t)f[1].v;
	/* Years 1 to 9999, the range RFC 3339 can write. */
	const int64_t lo = -62135596800, hi = 253402300799;
	if (sec >= lo - 3 && sec <= hi + 3) {
		sec += nsec / 1000000000;
		nsec %= 1000000000;
		if (nsec < 0) {
			nsec += 1000000000;
			sec--;
		}
	}
	if (sec < lo || sec > hi)
		return bad(d, "time %lld s is out of range", (long long)sec);
	int64_t days = (sec >= 0 ? sec : sec - 86399) / 86400, y;
	unsigned rem = (unsigned)(sec - days * 86400), mon, mday;
	civil(days, &y, &mon, &mday);
	char s[40];
	int n = snprintf(s, sizeof(s), "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, mon, mday,
	                 rem / 3600, rem / 60 % 60, rem % 60);
	snprintf(s + n, sizeof(s) - (size_t)n, micro ? ".%06uZ" : "Z", (unsigned)(nsec / 1000));
	*out = cJSON_CreateString(s);
	return *out ? 0 : oom(d);
}

/* intstr.IntOrString {type 1, intVal 2, strVal 3}: a number, or a string when type is 1. */
static int int_or_string(struct dec *d, const struct wire *w, cJSON **out)
{
	static const uint8_t want[] = { WT_VARINT, WT_VARINT, WT_LEN };
	struct wire f[3] = { { 0 }, { 0 }, { .p = (const uint8_t *)"" } };
	int rc = small(d, w->p, w->n, want, f, 3);
	if (rc < 0)
		return rc;
	if (f[0].v == 1)
		return string(d, f[2].p, f[2].n, out);
	if (f[0].v != 0)
		return bad(d, "IntOrString type %llu is neither 0 (int) nor 1 (string)",
		           (unsigned long long)f[0].v);
	*out = cJSON_CreateNumber((int32_t)(uint32_t)f[1].v);
	return *out ? 0 : oom(d);
}

/* resource.Quantity {string 1}: its text. Go writes a zero quantity as "0". */
static int quantity(struct dec *d, const struct wire *w, cJSON **out)
{
	static const uint8_t want[] = { WT_LEN };
	struct wire f = { .p = (const uint8_t *)"0", .n = 1 };
	int rc = small(d, w->p, w->n, want, &f, 1);
	return rc < 0 ? rc : string(d, f.p, f.n, out);
}

/* RawExtension and FieldsV1 {raw 1}: JSON text, embedded as it is; null when absent. */
static int raw_json(struct dec *d, const struct wire *w, cJSON **out)
{
	static const uint8_t want[] = { WT_LEN };
	struct wire f = { 0 };
	struct err je = { 0 };
	int rc = small(d, w->p, w->n, want, &f, 1);
	if (rc < 0)
		return rc;
	if (!f.n) {
		*out = cJSON_CreateNull();
		return *out ? 0 : oom(d);
	}
	if (obj_parse((const char *)f.p, f.n, out, &je) < 0)
		return bad(d, "embedded object is not JSON: %s", je.msg);
	return 0;
}

/* The wire type of f's values at wrapper level lv (lv == nwrap: the base type). */
static int want_wt(const struct sfield *f, unsigned lv)
{
	if (lv < f->nwrap)
		return WT_LEN;
	switch (f->base) {
	case BASE_BOOL:
	case BASE_INT32:
	case BASE_INT64:
		return WT_VARINT;
	case BASE_NUMBER:
		return WT_I64;
	default:
		return WT_LEN;
	}
}

static int message(struct dec *d, const uint8_t *p, size_t n, int ti, uint32_t group, cJSON *obj);
static int value(struct dec *d, const struct sfield *f, unsigned lv, const struct wire *w,
                 cJSON **out);

/* A value of f's base type (below its wrappers). */
static int base(struct dec *d, const struct sfield *f, const struct wire *w, cJSON **out)
{
	int want = want_wt(f, f->nwrap);
	if (w->wt != want)
		return wrong_type(d, w->wt, want);
	switch (f->base) {
	case BASE_STRING:
		return string(d, w->p, w->n, out);
	case BASE_BOOL:
		*out = cJSON_CreateBool(w->v != 0);
		break;
	case BASE_INT32:
		*out = cJSON_CreateNumber((int32_t)(uint32_t)w->v);
		break;
	case BASE_INT64:
		*out = cJSON_CreateNumber((double)(int64_t)w->v);
		break;
	case BASE_NUMBER: {
		double v;
		memcpy(&v, &w->v, sizeof(v));
		if (v != v || v - v != 0)
			return bad(d, "number is not finite");
		*out = cJSON_CreateNumber(v);
		break;
	}
	case BASE_BYTE:
		*out = base64(w->p, w->n);
		break;
	case BASE_ANY:
		return raw_json(d, w, out);
	default: {
		const struct stype *t = &d->m->types[f->ref];
		switch (t->shape) {
		case SHAPE_TIME:
		case SHAPE_MTIME:
			return timestamp(d, w, t->shape == SHAPE_MTIME, out);
		case SHAPE_INTSTR:
			return int_or_string(d, w, out);
		case SHAPE_QTY:
			return quantity(d, w, out);
		case SHAPE_ANY:
			return raw_json(d, w, out);
		default:
			if (!(*out = cJSON_CreateObject()))
				return oom(d);
			int rc = message(d, w->p, w->n, f->ref, 0, *out);
			if (rc < 0) {
				cJSON_Delete(*out);
				*out = NULL;
			}
			return rc;
		}
	}
	}
	return *out ? 0 : oom(d);
}

/* Sets key in obj to v, replacing what was there (so a repeated field never makes two keys). */
static int set(struct dec *d, cJSON *obj, const char *key, cJSON *v)
{
	bool ok = cJSON_GetObjectItemCaseSensitive(obj, key)
	              ? cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v)
	              : cJSON_AddItemToObject(obj, key, v);
	if (!ok) {
		cJSON_Delete(v);
		return oom(d);
	}
	return 0;
}

static int append(struct dec *d, cJSON *arr, cJSON *v)
{
	if (!cJSON_AddItemToArray(arr, v)) {
		cJSON_Delete(v);
		return oom(d);
	}
	return 0;
}

/* A packed run of scalars: varints back to back, or 8-byte doubles. */
static int packed(struct dec *d, const struct sfield *f, const struct wire *w, cJSON *arr)
{
	struct rd r = { w->p, w->p + w->n };
	while (r.p < r.end) {
		struct wire one = { .wt = want_wt(f, f->nwrap) };
		int rc;
		if (one.wt == WT_I64) {
			if (r.end - r.p < 8)
				return bad(d, "packed doubles end mid-value");
			for (int i = 0; i < 8; i++)
				one.v |= (uint64_t)r.p[i] << (8 * i);
			r.p += 8;
		} else if ((rc = read_varint(d, &r, &one.v)) < 0)
			return rc;
		cJSON *v = NULL;
		if ((rc = base(d, f, &one, &v)) < 0 || (rc = append(d, arr, v)) < 0)
			return rc;
	}
	return 0;
}

/* One wire occurrence of f at list or map level lv, added to that level's container c:
 * a list element (or a packed run of them), or a map entry {key 1, value 2}. */
static int occurrence(struct dec *d, const struct sfield *f, unsigned lv, const struct wire *w,
                      cJSON *c)
{
	int rc;
	cJSON *v = NULL;
	if (f->wrap[lv] == WRAP_ARRAY) {
		if (lv + 1 == f->nwrap && w->wt == WT_LEN && want_wt(f, lv + 1) != WT_LEN)
			return packed(d, f, w, c);
		if ((rc = value(d, f, lv + 1, w, &v)) < 0)
			return rc;
		return append(d, c, v);
	}
	if (w->wt != WT_LEN)
		return wrong_type(d, w->wt, WT_LEN);
	/* A missing key is "", a missing value its type's zero, as Go decodes map entries. */
	const uint8_t want[] = { WT_LEN, (uint8_t)want_wt(f, lv + 1) };
	struct wire kv[2] = { { .p = (const uint8_t *)"" },
		              { .wt = want[1], .p = (const uint8_t *)"" } };
	if ((rc = small(d, w->p, w->n, want, kv, 2)) < 0)
		return rc;
	struct wire key = kv[0], val = kv[1];
	if (key.n && memchr(key.p, 0, key.n))
		return bad(d, "map key contains a NUL byte");
	if ((rc = value(d, f, lv + 1, &val, &v)) < 0)
		return rc;
	char *k = xstrndup((const char *)key.p, key.n);
	rc = set(d, c, k, v);
	free(k);
	return rc;
}

/* A new JSON value for f at level lv: below the wrappers the base value; a list or map nested
 * in another is a message holding it in field 1 (Go's named slice types, like ExtraValue). */
static int value(struct dec *d, const struct sfield *f, unsigned lv, const struct wire *w,
                 cJSON **out)
{
	if (lv == f->nwrap)
		return base(d, f, w, out);
	if (w->wt != WT_LEN)
		return wrong_type(d, w->wt, WT_LEN);
	if (++d->depth > MAX_DEPTH)
		return bad(d, "nested more than %d deep", MAX_DEPTH);
	cJSON *c = f->wrap[lv] == WRAP_ARRAY ? cJSON_CreateArray() : cJSON_CreateObject();
	if (!c)
		return oom(d);
	struct rd r = { w->p, w->p + w->n };
	int rc = 0;
	while (r.p < r.end && rc == 0) {
		uint32_t num;
		struct wire e;
		if ((rc = next(d, &r, &num, &e)) < 0)
			break;
		if (e.wt == WT_EGROUP)
			rc = bad(d, "unexpected end of group");
		else if (num == 1)
			rc = occurrence(d, f, lv, &e, c);
	}
	d->depth--;
	if (rc < 0) {
		cJSON_Delete(c);
		return rc;
	}
	*out = c;
	return 0;
}

static bool is_zero(const cJSON *v)
{
	return cJSON_IsFalse(v) || (cJSON_IsNumber(v) && v->valuedouble == 0) ||
	       (cJSON_IsString(v) && !*v->valuestring);
}

/* One occurrence of field f of a message into obj. */
static int field(struct dec *d, const struct sfield *f, const struct wire *w, cJSON *obj)
{
	char name[96];
	snprintf(name, sizeof(name), "%.*s", (int)f->name.n, f->name.p);
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(obj, name), *v = NULL;
	int rc;
	if (f->nwrap) {
		bool arr = f->wrap[0] == WRAP_ARRAY;
		if (!(arr ? cJSON_IsArray(cur) : cJSON_IsObject(cur))) {
			if (!(cur = arr ? cJSON_CreateArray() : cJSON_CreateObject()))
				return oom(d);
			if ((rc = set(d, obj, name, cur)) < 0)
				return rc;
		}
		return occurrence(d, f, 0, w, cur);
	}
	if (f->base == BASE_REF && d->m->types[f->ref].shape == SHAPE_OBJECT &&
	    cJSON_IsObject(cur)) {
		if (w->wt != WT_LEN)
			return wrong_type(d, w->wt, WT_LEN);
		return message(d, w->p, w->n, f->ref, 0, cur);
	}
	if ((rc = value(d, f, 0, w, &v)) < 0)
		return rc;
	if (f->pb_omitzero && is_zero(v)) {
		cJSON_Delete(v);
		cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
		return 0;
	}
	return set(d, obj, name, v);
}

/* The field of type t that number num names (inside inline message `group` if not 0). When
 * num is an inline message of t, returns NULL and sets *inl. */
static const struct sfield *lookup(const struct model *m, const struct stype *t, uint32_t group,
                                   uint32_t num, bool *inl)
{
	*inl = false;
	for (uint32_t i = 0; i < t->nfields; i++) {
		const struct sfield *f = &m->fields[t->first + i];
		if (group ? f->pb == group && f->pb_in == num : f->pb == num) {
			if (f->pb_in && !group) {
				*inl = true;
				return NULL;
			}
			return f;
		}
	}
	return NULL;
}

/* The message of type ti (or its inline message `group`) in n bytes at p, into obj. */
static int message(struct dec *d, const uint8_t *p, size_t n, int ti, uint32_t group, cJSON *obj)
{
	if (++d->depth > MAX_DEPTH)
		return bad(d, "nested more than %d deep", MAX_DEPTH);
	const struct stype *t = &d->m->types[ti];
	struct rd r = { p, p + n };
	int rc = 0;
	while (r.p < r.end && rc == 0) {
		uint32_t num;
		struct wire w;
		bool inl;
		if ((rc = next(d, &r, &num, &w)) < 0)
			break;
		if (w.wt == WT_EGROUP) {
			rc = bad(d, "unexpected end of group");
			break;
		}
		const struct sfield *f = lookup(d->m, t, group, num, &inl);
		if (inl)
			rc = w.wt == WT_LEN ? message(d, w.p, w.n, ti, num, obj)
			                    : wrong_type(d, w.wt, WT_LEN);
		else if (f) {
			size_t mark = push(d, f->name);
			rc = field(d, f, &w, obj);
			pop(d, mark);
		}
	}
	d->depth--;
	return rc;
}

/* The kind's type; kinds that every group-version has (DeleteOptions) also by name alone. */
static int find_kind(const struct model *m, const char *av, const char *kind)
{
	int ti = schema_find_kind(m, av, kind);
	for (size_t i = 0; ti < 0 && i < m->ntypes; i++) {
		const struct stype *t = &m->types[i];
		if ((t->flags & (TF_KIND | TF_ISLIST)) == TF_KIND && sstr_eq(t->name, kind) &&
		    sstr_eq(m->pkgs[t->pkg].name, "io.k8s.apimachinery.pkg.apis.meta.v1"))
			ti = (int)i;
	}
	return ti;
}

/* A type name of the envelope into out (NUL-terminated); over-long ones are malformed. */
static int envelope_string(struct dec *d, const struct wire *w, char *out, size_t size)
{
	if (w->n >= size || (w->n && memchr(w->p, 0, w->n)))
		return bad(d, "envelope type name is not a short string");
	memcpy(out, w->p, w->n);
	out[w->n] = '\0';
	return 0;
}

int schema_from_protobuf(const void *buf, size_t len, const char *def_api_version,
                         const char *def_kind, cJSON **out, struct err *e)
{
	static const uint8_t magic[4] = { 'k', '8', 's', 0 };
	/* runtime.Unknown {typeMeta 1, raw 2, contentEncoding 3, contentType 4} and
	 * runtime.TypeMeta {apiVersion 1, kind 2}: all bytes. */
	static const uint8_t want[4] = { WT_LEN, WT_LEN, WT_LEN, WT_LEN };
	struct dec d = { .m = schema_model(), .e = e };
	const uint8_t *p = buf;
	char av[128], kind[128];
	struct wire unk[4] = { { .p = (const uint8_t *)"" }, { .p = (const uint8_t *)"" } };
	struct wire tm[2] = { { .p = (const uint8_t *)"" }, { .p = (const uint8_t *)"" } };
	int rc;

	*out = NULL;
	if (!d.m)
		return err_set(e, -EINVAL, "protobuf: the type table is broken");
	if (len < sizeof(magic) || memcmp(p, magic, sizeof(magic)))
		return err_set(e, -EBADMSG, "protobuf: the body does not start with \"k8s\\x00\"");
	if (len == sizeof(magic))
		return err_set(e, -EBADMSG, "protobuf: empty body");
	if ((rc = small(&d, p + sizeof(magic), len - sizeof(magic), want, unk, 4)) < 0 ||
	    (rc = small(&d, unk[0].p, unk[0].n, want, tm, 2)) < 0 ||
	    (rc = envelope_string(&d, &tm[0], av, sizeof(av))) < 0 ||
	    (rc = envelope_string(&d, &tm[1], kind, sizeof(kind))) < 0)
		return rc;
	/* As kube-apiserver does, what the envelope leaves out comes from the endpoint. */
	if (!*kind && def_kind)
		snprintf(kind, sizeof(kind), "%s", def_kind);
	if (!*av && def_api_version)
		snprintf(av, sizeof(av), "%s", def_api_version);
	if (!*kind)
		return err_set(e, -EBADMSG, "protobuf: Object 'Kind' is missing");
	if (!*av)
		return err_set(e, -EBADMSG, "protobuf: Object 'apiVersion' is missing");
	int ti = find_kind(d.m, av, kind);
	if (ti < 0)
		return err_set(e, -ENOENT, "no kind \"%s\" is registered for version \"%s\"", kind,
		               av);
	cJSON *obj = cJSON_CreateObject();
	if (!obj || !cJSON_AddStringToObject(obj, "kind", kind) ||
	    !cJSON_AddStringToObject(obj, "apiVersion", av)) {
		cJSON_Delete(obj);
		return oom(&d);
	}
	if ((rc = message(&d, unk[1].p, unk[1].n, ti, 0, obj)) < 0) {
		cJSON_Delete(obj);
		return rc;
	}
	*out = obj;
	return 0;
}
