/* json: tolerant JSON getters, default setters and base64 for the strategies. */
#include <string.h>

#include "core/registry/registry-internal.h"

/*
 * Thin layers over core/obj's paths: they add only that a JSON null reads as absent, as Go's
 * decoder leaves such a field unset. Registry paths are plain dotted names.
 */
const cJSON *reg_get(const cJSON *o, const char *key)
{
	const cJSON *it = obj_child(o, key);
	return cJSON_IsNull(it) ? NULL : it;
}

const char *reg_get_str(const cJSON *o, const char *key)
{
	const cJSON *it = reg_get(o, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

const cJSON *reg_at(const cJSON *o, const char *path)
{
	const cJSON *it = obj_get(o, path);
	return cJSON_IsNull(it) ? NULL : it;
}

const char *reg_at_str(const cJSON *o, const char *path)
{
	return obj_get_str(o, path);
}

const char *reg_at_strz(const cJSON *o, const char *path)
{
	const char *s = obj_get_str(o, path);
	return s ? s : "";
}

bool reg_json_int(const cJSON *item, int64_t *out)
{
	return obj_get_i64(item, "", out);
}

int64_t reg_at_int(const cJSON *o, const char *path, int64_t dflt)
{
	int64_t v;
	return obj_get_i64(o, path, &v) ? v : dflt;
}

bool reg_at_bool(const cJSON *o, const char *path, bool dflt)
{
	bool b;
	return obj_get_bool(o, path, &b) ? b : dflt;
}

const cJSON *reg_at_arr(const cJSON *o, const char *path)
{
	const cJSON *it = reg_at(o, path);
	return cJSON_IsArray(it) ? it : NULL;
}

const cJSON *reg_at_obj(const cJSON *o, const char *path)
{
	const cJSON *it = reg_at(o, path);
	return cJSON_IsObject(it) ? it : NULL;
}

int reg_count(const cJSON *o)
{
	if (!cJSON_IsArray(o) && !cJSON_IsObject(o))
		return 0;
	return cJSON_GetArraySize(o);
}

cJSON *reg_obj(cJSON *o, const char *key, bool create)
{
	if (!cJSON_IsObject(o))
		return NULL;
	cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsObject(it))
		return it;
	if (it && !cJSON_IsNull(it))
		return NULL;
	if (!create)
		return NULL;
	cJSON *n = cJSON_CreateObject();
	reg_set(o, key, n);
	return n;
}

void reg_set(cJSON *o, const char *key, cJSON *item)
{
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(item);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, item);
	else
		cJSON_AddItemToObject(o, key, item);
}

static bool unset(const cJSON *o, const char *key)
{
	if (!cJSON_IsObject(o))
		return false;
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	return !it || cJSON_IsNull(it);
}

void reg_def_str(cJSON *o, const char *key, const char *val)
{
	const cJSON *it = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	if (unset(o, key) || (cJSON_IsString(it) && !*it->valuestring))
		reg_set(o, key, cJSON_CreateString(val));
}

void reg_def_int(cJSON *o, const char *key, int64_t val)
{
	if (unset(o, key))
		reg_set(o, key, cJSON_CreateNumber((double)val));
}

void reg_def_int0(cJSON *o, const char *key, int64_t val)
{
	const cJSON *it = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	if (unset(o, key) || (cJSON_IsNumber(it) && it->valuedouble == 0))
		reg_set(o, key, cJSON_CreateNumber((double)val));
}

void reg_def_bool(cJSON *o, const char *key, bool val)
{
	if (unset(o, key))
		reg_set(o, key, cJSON_CreateBool(val));
}

void reg_def_obj(cJSON *o, const char *key)
{
	if (unset(o, key))
		reg_set(o, key, cJSON_CreateObject());
}

cJSON *reg_reset_status(cJSON *obj)
{
	cJSON *st = cJSON_CreateObject();
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(st);
		return NULL;
	}
	reg_set(obj, "status", st);
	return st;
}

bool reg_json_equal(const cJSON *a, const cJSON *b)
{
	/* Absent and null are the same to Go. */
	if (cJSON_IsNull(a))
		a = NULL;
	if (cJSON_IsNull(b))
		b = NULL;
	return obj_equal(a, b);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *reg_base64_encode(const unsigned char *p, size_t n)
{
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Go's base64.StdEncoding: padding required, no whitespace. */
unsigned char *reg_base64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s);
	if (n % 4)
		return NULL;
	unsigned char *out = xmalloc(n / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			char c = s[i + j];
			const char *at = c ? strchr(b64, c) : NULL;
			if (c == '=' && i + 4 == n && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (!at || pad) {
				free(out);
				return NULL;
			}
			v = (v << 6) | (uint32_t)(at - b64);
		}
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

bool reg_qty(const cJSON *item, struct qty *q)
{
	return item && qty_from_json(item, q, NULL) == 0;
}

void reg_qty_round_milli(struct qty *q)
{
	uint32_t rest = q->nanos % 1000000u;
	if (!rest)
		return;
	q->nanos += 1000000u - rest;
	if (q->nanos == 1000000000u) {
		q->nanos = 0;
		q->units++; /* the cap is 2^63-1 units; a uint64 has room for one more */
	}
}
