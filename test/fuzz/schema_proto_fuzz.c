/* schema_proto_fuzz: libFuzzer target for Kubernetes protobuf request bodies (core/schema). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/obj/obj.h"
#include "core/schema/schema.h"
#include "core/util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Kinds for mode 1, which wraps the input in an envelope so mutations go deep into objects. */
static const char *const kinds[][2] = {
	{ "apps/v1", "Deployment" },
	{ "v1", "Pod" },
	{ "batch/v1", "CronJob" },
	{ "v1", "Service" },
	{ "v1", "Secret" },
	{ "v1", "ConfigMap" },
	{ "apps/v1", "StatefulSet" },
	{ "v1", "Node" },
	{ "policy/v1", "Eviction" },
	{ "certificates.k8s.io/v1", "CertificateSigningRequest" },
	{ "apps/v1", "DeploymentList" },
	{ "apps/v1", "ControllerRevision" },
	{ "coordination.k8s.io/v1", "Lease" },
	{ "events.k8s.io/v1", "Event" },
	{ "v1", "DeleteOptions" },
	{ "rbac.authorization.k8s.io/v1", "ClusterRole" },
};

static void varint(struct buf *b, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		buf_addc(b, (char)(v | 0x80));
	buf_addc(b, (char)v);
}

static void bytes(struct buf *b, int field, const void *p, size_t n)
{
	varint(b, (uint64_t)field << 3 | 2);
	varint(b, n);
	buf_add(b, p, n);
}

/*
 * Input: a mode byte. Mode 0: the rest is the whole body. Mode 1: the next byte picks a kind and
 * the rest is that object's message inside a well-formed envelope. Whatever decodes must print
 * as a JSON object that reads back, and strict field validation must find nothing wrong with
 * it: the decoder only ever writes fields of the kind, each once.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct buf body = { 0 };
	const char *av = "v1", *kind = "Pod";
	if (data[0] & 1) {
		struct buf tm = { 0 };
		av = kinds[data[1] % ARRAY_SIZE(kinds)][0];
		kind = kinds[data[1] % ARRAY_SIZE(kinds)][1];
		bytes(&tm, 1, av, strlen(av));
		bytes(&tm, 2, kind, strlen(kind));
		buf_add(&body, "k8s", 4);
		bytes(&body, 1, tm.data, tm.len);
		bytes(&body, 2, data + 2, size - 2);
		buf_free(&tm);
	} else
		buf_add(&body, data + 1, size - 1);

	cJSON *obj = NULL;
	struct err e = { 0 };
	int rc = schema_from_protobuf(body.data, body.len, "v1", "Pod", &obj, &e);
	if (rc < 0 && (obj || !e.msg[0] || (rc != -EBADMSG && rc != -ENOENT)))
		__builtin_trap();
	if (rc == 0) {
		/* What is stored is the printed text (invalid UTF-8 becomes U+FFFD, as in Go). */
		char *text = obj_print(obj, 0);
		cJSON *back = NULL;
		if (!cJSON_IsObject(obj) || obj_parse(text, strlen(text), &back, &e) < 0 ||
		    !cJSON_IsObject(back))
			__builtin_trap();
		const char *oav = cJSON_GetStringValue(cJSON_GetObjectItem(obj, "apiVersion"));
		const char *okind = cJSON_GetStringValue(cJSON_GetObjectItem(obj, "kind"));
		struct schema_issues is = { 0 };
		if (!oav || !okind || (schema_check_fields(oav, okind, obj, &is) == 0 && is.n > 0))
			__builtin_trap();
		schema_issues_free(&is);
		cJSON_Delete(back);
		free(text);
		cJSON_Delete(obj);
	}
	buf_free(&body);
	return 0;
}
