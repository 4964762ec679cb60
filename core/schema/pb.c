/* schema pb: the Swagger 2.0 document in gnostic's protobuf form, which kubectl asks /openapi/v2 for. */
#include <pthread.h>
#include <string.h>

#include "core/schema/schema-internal.h"
#include "core/schema/schema.h"

/*
 * kubectl (and client-go) fetch /openapi/v2 as protobuf only: the message openapi.v2.Document
 * of github.com/google/gnostic. kubectl 1.20 needs it for explain and client-side validation.
 * We convert our own JSON document, so the two forms cannot drift apart: each JSON object is
 * written as the message its position calls for. Vendor extensions and enum values are
 * carried as YAML text in gnostic's Any; JSON is valid YAML, so they are the JSON text itself.
 *
 * Field numbers of the messages used (gnostic openapiv2/OpenAPIv2.proto):
 *   Document: swagger 1, info 2, paths 8, definitions 9
 *   Info: title 1, version 2          Definitions/Properties: additional_properties 1
 *   NamedX: name 1, value 2           Any: yaml 2
 *   Schema: _ref 1, format 2, description 4, required 19, enum 20, additional_properties 21,
 *           type 22, items 23, properties 25, vendor_extension 31
 *   AdditionalPropertiesItem: schema 1   TypeItem: value 1   ItemsItem: schema 1
 *   Paths: path 2    PathItem: get 2, put 3, post 4, delete 5, patch 8, parameters 9, ext 10
 *   Operation: operation_id 5, produces 6, consumes 7, parameters 8, responses 9, ext 13
 *   ParametersItem: parameter 1    Parameter: body_parameter 1, non_body_parameter 2
 *   BodyParameter: name 2, in 3, required 4, schema 5
 *   NonBodyParameter: query 3, path 4; Query/PathParameterSubSchema: required 1, in 2, name 4,
 *           type 6 (query) or 5 (path)
 *   Responses: response_code 1    ResponseValue: response 1
 *   Response: description 1, schema 2    SchemaItem: schema 1
 */

enum { WT_VARINT = 0, WT_LEN = 2 };

static void varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_addc(b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_addc(b, (char)v);
}

static void tag(struct buf *b, int field, int wt)
{
	varint(b, ((uint64_t)field << 3) | (uint64_t)wt);
}

static void bytes(struct buf *b, int field, const void *p, size_t n)
{
	tag(b, field, WT_LEN);
	varint(b, n);
	buf_add(b, p, n);
}

static void string(struct buf *b, int field, const char *s)
{
	if (s)
		bytes(b, field, s, strlen(s));
}

static void boolean(struct buf *b, int field, bool v)
{
	if (!v)
		return;
	tag(b, field, WT_VARINT);
	varint(b, 1);
}

/* Writes the message built in m as field `field` of b, and empties m. */
static void message(struct buf *b, int field, struct buf *m)
{
	bytes(b, field, m->data ? m->data : "", m->len);
	buf_free(m);
}

/* Any{yaml: <JSON text of v>} as field `field`. */
static void any(struct buf *b, int field, const cJSON *v)
{
	char *text = cJSON_PrintUnformatted(v);
	struct buf m = { 0 };
	string(&m, 2, text ? text : "null");
	cJSON_free(text);
	message(b, field, &m);
}

/* NamedAny{name, value: Any} for an x- key. */
static void extension(struct buf *b, int field, const cJSON *kv)
{
	struct buf m = { 0 };
	string(&m, 1, kv->string);
	any(&m, 2, kv);
	message(b, field, &m);
}

static bool is_ext(const cJSON *kv)
{
	return kv->string && !strncmp(kv->string, "x-", 2);
}

static void schema(struct buf *b, const cJSON *s);

/* Writes a Schema message built from s as field `field` of b. */
static void schema_field(struct buf *b, int field, const cJSON *s)
{
	struct buf m = { 0 };
	schema(&m, s);
	message(b, field, &m);
}

static void schema(struct buf *b, const cJSON *s)
{
	const cJSON *kv;
	cJSON_ArrayForEach(kv, s)
	{
		const char *k = kv->string;
		struct buf m = { 0 };
		if (!strcmp(k, "$ref"))
			string(b, 1, cJSON_GetStringValue(kv));
		else if (!strcmp(k, "format"))
			string(b, 2, cJSON_GetStringValue(kv));
		else if (!strcmp(k, "description"))
			string(b, 4, cJSON_GetStringValue(kv));
		else if (!strcmp(k, "required")) {
			const cJSON *e;
			cJSON_ArrayForEach(e, kv) string(b, 19, cJSON_GetStringValue(e));
		} else if (!strcmp(k, "enum")) {
			const cJSON *e;
			cJSON_ArrayForEach(e, kv) any(b, 20, e);
		} else if (!strcmp(k, "additionalProperties")) {
			schema_field(&m, 1, kv);
			message(b, 21, &m);
		} else if (!strcmp(k, "type")) {
			string(&m, 1, cJSON_GetStringValue(kv));
			message(b, 22, &m);
		} else if (!strcmp(k, "items")) {
			schema_field(&m, 1, kv);
			message(b, 23, &m);
		} else if (!strcmp(k, "properties")) {
			const cJSON *p;
			cJSON_ArrayForEach(p, kv)
			{
				struct buf named = { 0 };
				string(&named, 1, p->string);
				schema_field(&named, 2, p);
				message(&m, 1, &named);
			}
			message(b, 25, &m);
		} else if (is_ext(kv))
			extension(b, 31, kv);
	}
}

/* The ParametersItem message of one JSON parameter, written into b. */
static void parameter(struct buf *b, const cJSON *p)
{
	const char *in = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "in"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type"));
	bool required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "required"));
	struct buf sub = { 0 }, param = { 0 };
	if (in && !strcmp(in, "body")) {
		string(&sub, 2, name);
		string(&sub, 3, in);
		boolean(&sub, 4, required);
		schema_field(&sub, 5, cJSON_GetObjectItemCaseSensitive(p, "schema"));
		message(&param, 1, &sub);
	} else {
		bool path = in && !strcmp(in, "path");
		struct buf nb = { 0 };
		boolean(&sub, 1, required);
		string(&sub, 2, in);
		string(&sub, 4, name);
		string(&sub, path ? 5 : 6, type);
		message(&nb, path ? 4 : 3, &sub);
		message(&param, 2, &nb);
	}
	message(b, 1, &param);
}

/* Repeated ParametersItem as field `field`. */
static void parameters(struct buf *b, int field, const cJSON *list)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, list)
	{
		struct buf item = { 0 };
		parameter(&item, p);
		message(b, field, &item);
	}
}

static void responses(struct buf *b, int field, const cJSON *rs)
{
	struct buf m = { 0 };
	const cJSON *r;
	cJSON_ArrayForEach(r, rs)
	{
		struct buf named = { 0 }, value = { 0 }, resp = { 0 }, item = { 0 };
		string(&named, 1, r->string);
		string(&resp, 1,
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "description")));
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "schema");
		if (s) {
			schema_field(&item, 1, s);
			message(&resp, 2, &item);
		}
		message(&value, 1, &resp);
		message(&named, 2, &value);
		message(&m, 1, &named);
	}
	message(b, field, &m);
}

static void operation(struct buf *b, int field, const cJSON *op)
{
	struct buf m = { 0 };
	const cJSON *kv, *e;
	cJSON_ArrayForEach(kv, op)
	{
		const char *k = kv->string;
		if (!strcmp(k, "operationId"))
			string(&m, 5, cJSON_GetStringValue(kv));
		else if (!strcmp(k, "produces") || !strcmp(k, "consumes")) {
			cJSON_ArrayForEach(e, kv)
			    string(&m, k[0] == 'p' ? 6 : 7, cJSON_GetStringValue(e));
		} else if (!strcmp(k, "parameters"))
			parameters(&m, 8, kv);
		else if (!strcmp(k, "responses"))
			responses(&m, 9, kv);
		else if (is_ext(kv))
			extension(&m, 13, kv);
	}
	message(b, field, &m);
}

static void path_item(struct buf *b, const cJSON *item)
{
	static const struct {
		const char *method;
		int field;
	} ops[] = { { "get", 2 }, { "put", 3 }, { "post", 4 }, { "delete", 5 }, { "patch", 8 } };
	const cJSON *kv;
	cJSON_ArrayForEach(kv, item)
	{
		for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
			if (!strcmp(kv->string, ops[i].method))
				operation(b, ops[i].field, kv);
		if (!strcmp(kv->string, "parameters"))
			parameters(b, 9, kv);
		else if (is_ext(kv))
			extension(b, 10, kv);
	}
}

static char *pb_text;
static size_t pb_len;
static char pb_etag[20];
static pthread_mutex_t pb_lock = PTHREAD_MUTEX_INITIALIZER;

static void build(void)
{
	size_t len;
	const char *json = schema_openapi_v2(&len);
	cJSON *doc = json ? cJSON_ParseWithLength(json, len) : NULL;
	if (!doc)
		return;
	struct buf b = { 0 }, m = { 0 };
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(doc, "info"), *kv;
	string(&b, 1, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "swagger")));
	string(&m, 1, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(info, "title")));
	string(&m, 2, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(info, "version")));
	message(&b, 2, &m);
	cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(doc, "paths"))
	{
		struct buf named = { 0 }, item = { 0 };
		string(&named, 1, kv->string);
		path_item(&item, kv);
		message(&named, 2, &item);
		message(&m, 2, &named);
	}
	message(&b, 8, &m);
	cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(doc, "definitions"))
	{
		struct buf named = { 0 };
		string(&named, 1, kv->string);
		schema_field(&named, 2, kv);
		message(&m, 1, &named);
	}
	message(&b, 9, &m);
	cJSON_Delete(doc);
	schema_etag(b.data, b.len, pb_etag);
	pb_len = b.len;
	pb_text = buf_steal(&b);
}

const char *schema_openapi_v2_pb(size_t *len)
{
	pthread_mutex_lock(&pb_lock);
	if (!pb_text)
		build();
	pthread_mutex_unlock(&pb_lock);
	if (len)
		*len = pb_text ? pb_len : 0;
	return pb_text;
}

const char *schema_pb_etag(const char *doc)
{
	pthread_mutex_lock(&pb_lock);
	bool same = doc && doc == pb_text;
	pthread_mutex_unlock(&pb_lock);
	return same ? pb_etag : NULL;
}
