/* meta: the stored form of objects and the metadata rules every kind shares. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/api/api-internal.h"

char *api_to_storage(cJSON *obj, size_t *len)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (cJSON_IsObject(meta))
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	/* Re-link the members: apiVersion, kind, metadata, then the rest in their order. */
	static const char *const first[] = { "apiVersion", "kind", "metadata" };
	cJSON *head[3] = { NULL, NULL, NULL };
	for (int i = 0; i < 3; i++)
		head[i] = cJSON_DetachItemFromObjectCaseSensitive(obj, first[i]);
	cJSON *rest = NULL, *it;
	while ((it = obj->child)) {
		cJSON_DetachItemViaPointer(obj, it);
		if (!rest)
			rest = cJSON_CreateArray();
		cJSON_AddItemToArray(rest, it);
	}
	for (int i = 0; i < 3; i++)
		if (head[i])
			cJSON_AddItemToArray(obj, head[i]);
	while (rest && (it = rest->child)) {
		cJSON_DetachItemViaPointer(rest, it);
		cJSON_AddItemToArray(obj, it);
	}
	cJSON_Delete(rest);
	char *s = cJSON_PrintUnformatted(obj);
	if (s && len)
		*len = strlen(s);
	return s;
}

cJSON *api_from_storage_kind(const struct reg_kind *k, const char *val, size_t len, uint64_t rev)
{
	cJSON *obj = api_from_storage(val, len, rev);
	if (obj && k && k->from_storage)
		k->from_storage(obj);
	return obj;
}

cJSON *api_from_storage(const char *val, size_t len, uint64_t rev)
{
	cJSON *obj = cJSON_ParseWithLength(val, len);
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return NULL;
	}
	char rv[24];
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)rev);
	cJSON *meta = api_meta(obj);
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
	cJSON_AddStringToObject(meta, "resourceVersion", rv);
	return obj;
}

void api_splice_rv(struct buf *out, const char *val, size_t len, uint64_t rev)
{
	static const char pat[] = "\"metadata\":{";
	const char *end = val + len;
	const char *p = NULL;
	/* The stored form puts metadata within the first few fields. */
	for (const char *q = val; q + sizeof(pat) - 1 <= end && q < val + 512; q++)
		if (*q == '"' && !memcmp(q, pat, sizeof(pat) - 1)) {
			p = q + sizeof(pat) - 1;
			break;
		}
	if (!p) {
		cJSON *obj = api_from_storage(val, len, rev);
		char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
		buf_adds(out, s ? s : "{}");
		free(s);
		cJSON_Delete(obj);
		return;
	}
	buf_add(out, val, (size_t)(p - val));
	buf_printf(out, "\"resourceVersion\":\"%llu\"%s", (unsigned long long)rev,
	           (p < end && *p == '}') ? "" : ",");
	buf_add(out, p, (size_t)(end - p));
}

void api_new_uid(char out[37])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		uint64_t t = time_mono_us() ^ (uint64_t)time(NULL) << 20;
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(t >> (i % 8 * 8)) ^ (uint8_t)(i * 151);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

void api_now(char out[32])
{
	time_rfc3339(out, time(NULL));
}

void api_random_suffix(char out[6])
{
	/* Upstream's alphabet: no vowels (no words), no look-alikes. */
	static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
	uint8_t b[5];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (int i = 0; i < 5; i++)
			b[i] = (uint8_t)(time_mono_us() >> (i * 3));
	for (int i = 0; i < 5; i++)
		out[i] = alpha[b[i] % (sizeof(alpha) - 1)];
	out[5] = '\0';
}

cJSON *api_meta(cJSON *obj)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	if (!cJSON_IsObject(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
		m = cJSON_AddObjectToObject(obj, "metadata");
	}
	return m;
}

const char *api_str(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

bool api_valid_name(const char *s, bool label)
{
	size_t n = strlen(s);
	if (n == 0 || n > (label ? 63u : 253u))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (alnum)
			continue;
		if (c == '-' && i > 0 && i < n - 1)
			continue;
		if (c == '.' && !label && i > 0 && i < n - 1 && s[i - 1] != '.' &&
		    s[i - 1] != '-' && s[i + 1] != '-')
			continue;
		return false;
	}
	return true;
}

/* A label or annotation key: optional DNS subdomain prefix and '/', then a name of up to
 * 63 characters: alphanumerics with '-', '_' or '.' inside. */
static bool valid_qualified_name(const char *s)
{
	const char *slash = strchr(s, '/');
	const char *name = s;
	if (slash) {
		char prefix[254];
		size_t pl = (size_t)(slash - s);
		if (pl == 0 || pl > 253)
			return false;
		memcpy(prefix, s, pl);
		prefix[pl] = '\0';
		if (!api_valid_name(prefix, false))
			return false;
		name = slash + 1;
	}
	size_t n = strlen(name);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (alnum)
			continue;
		if ((c == '-' || c == '_' || c == '.') && i > 0 && i < n - 1)
			continue;
		return false;
	}
	return true;
}

static bool valid_label_value(const char *v)
{
	size_t n = strlen(v);
	if (n == 0)
		return true;
	if (n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (alnum)
			continue;
		if ((c == '-' || c == '_' || c == '.') && i > 0 && i < n - 1)
			continue;
		return false;
	}
	return true;
}

void api_validate_meta(const struct reg_kind *k, const cJSON *obj, struct reg_errors *errs)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *name = api_str(m, "name");
	if (!name || !*name) {
		reg_err(errs, "FieldValueRequired", "metadata.name",
		        "Required value: name or "
		        "generateName is required");
	} else if (!api_valid_name(name, k->name_is_label)) {
		if (k->name_is_label)
			reg_err(
			    errs, "FieldValueInvalid", "metadata.name",
			    "Invalid value: \"%.200s\": a lowercase RFC 1123 label must consist of "
			    "lower case alphanumeric characters or '-', start and end with an "
			    "alphanumeric character and be at most 63 characters",
			    name);
		else
			reg_err(
			    errs, "FieldValueInvalid", "metadata.name",
			    "Invalid value: \"%.200s\": a lowercase RFC 1123 subdomain must "
			    "consist "
			    "of lower case alphanumeric characters, '-' or '.', start and end with "
			    "an alphanumeric character and be at most 253 characters",
			    name);
	}
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(m, "labels");
	if (labels && !cJSON_IsNull(labels) && !cJSON_IsObject(labels))
		reg_err(errs, "FieldValueInvalid", "metadata.labels",
		        "Invalid value: must be a map");
	const cJSON *it, *lmap = cJSON_IsObject(labels) ? labels : NULL;
	cJSON_ArrayForEach(it, lmap)
	{
		char f[300];
		snprintf(f, sizeof(f), "metadata.labels");
		if (!valid_qualified_name(it->string))
			reg_err(
			    errs, "FieldValueInvalid", f,
			    "Invalid value: \"%.200s\": name part must consist of alphanumeric "
			    "characters, '-', '_' or '.', and must start and end with an "
			    "alphanumeric character, at most 63 characters, with an optional DNS "
			    "subdomain prefix and '/'",
			    it->string);
		else if (!cJSON_IsString(it))
			reg_err(errs, "FieldValueInvalid", f,
			        "Invalid value: label %.200s: must be a string", it->string);
		else if (!valid_label_value(it->valuestring))
			reg_err(
			    errs, "FieldValueInvalid", f,
			    "Invalid value: \"%.200s\": a valid label must be an empty string or "
			    "consist of alphanumeric characters, '-', '_' or '.', and must start "
			    "and end with an alphanumeric character, at most 63 characters",
			    it->valuestring);
	}
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
	if (ann && !cJSON_IsNull(ann) && !cJSON_IsObject(ann))
		reg_err(errs, "FieldValueInvalid", "metadata.annotations",
		        "Invalid value: must be a map");
	size_t total = 0;
	const cJSON *amap = cJSON_IsObject(ann) ? ann : NULL;
	cJSON_ArrayForEach(it, amap)
	{
		if (!valid_qualified_name(it->string))
			reg_err(
			    errs, "FieldValueInvalid", "metadata.annotations",
			    "Invalid value: \"%.200s\": annotation keys must be qualified names",
			    it->string);
		else if (!cJSON_IsString(it))
			reg_err(errs, "FieldValueInvalid", "metadata.annotations",
			        "Invalid value: annotation %.200s: must be a string", it->string);
		else
			total += strlen(it->string) + strlen(it->valuestring);
	}
	if (total > 262144)
		reg_err(errs, "FieldValueTooLong", "metadata.annotations",
		        "Too long: must have at most 262144 bytes");
	const char *gen = api_str(m, "generateName");
	if (gen && strlen(gen) > 247)
		reg_err(errs, "FieldValueTooLong", "metadata.generateName",
		        "Too long: must have at most 247 bytes");
}
