/* schema_test: the OpenAPI documents, strategic-merge metadata and strict field validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/schema/schema.h"
#include "core/util/util.h"

/* Every served kind: apiVersion, kind, v3 group-version path, upstream definition name. */
static const struct {
	const char *api_version, *kind, *gv, *def;
} kinds[] = {
	{ "v1", "Namespace", "api/v1", "io.k8s.api.core.v1.Namespace" },
	{ "v1", "Node", "api/v1", "io.k8s.api.core.v1.Node" },
	{ "v1", "Pod", "api/v1", "io.k8s.api.core.v1.Pod" },
	{ "v1", "Service", "api/v1", "io.k8s.api.core.v1.Service" },
	{ "v1", "Endpoints", "api/v1", "io.k8s.api.core.v1.Endpoints" },
	{ "v1", "ConfigMap", "api/v1", "io.k8s.api.core.v1.ConfigMap" },
	{ "v1", "Secret", "api/v1", "io.k8s.api.core.v1.Secret" },
	{ "v1", "Event", "api/v1", "io.k8s.api.core.v1.Event" },
	{ "v1", "ServiceAccount", "api/v1", "io.k8s.api.core.v1.ServiceAccount" },
	{ "v1", "ResourceQuota", "api/v1", "io.k8s.api.core.v1.ResourceQuota" },
	{ "v1", "LimitRange", "api/v1", "io.k8s.api.core.v1.LimitRange" },
	{ "v1", "PersistentVolumeClaim", "api/v1", "io.k8s.api.core.v1.PersistentVolumeClaim" },
	{ "apps/v1", "Deployment", "apis/apps/v1", "io.k8s.api.apps.v1.Deployment" },
	{ "apps/v1", "ReplicaSet", "apis/apps/v1", "io.k8s.api.apps.v1.ReplicaSet" },
	{ "apps/v1", "StatefulSet", "apis/apps/v1", "io.k8s.api.apps.v1.StatefulSet" },
	{ "apps/v1", "DaemonSet", "apis/apps/v1", "io.k8s.api.apps.v1.DaemonSet" },
	{ "apps/v1", "ControllerRevision", "apis/apps/v1",
	  "io.k8s.api.apps.v1.ControllerRevision" },
	{ "batch/v1", "Job", "apis/batch/v1", "io.k8s.api.batch.v1.Job" },
	{ "batch/v1", "CronJob", "apis/batch/v1", "io.k8s.api.batch.v1.CronJob" },
	{ "coordination.k8s.io/v1", "Lease", "apis/coordination.k8s.io/v1",
	  "io.k8s.api.coordination.v1.Lease" },
	{ "discovery.k8s.io/v1", "EndpointSlice", "apis/discovery.k8s.io/v1",
	  "io.k8s.api.discovery.v1.EndpointSlice" },
	{ "events.k8s.io/v1", "Event", "apis/events.k8s.io/v1", "io.k8s.api.events.v1.Event" },
	{ "rbac.authorization.k8s.io/v1", "Role", "apis/rbac.authorization.k8s.io/v1",
	  "io.k8s.api.rbac.v1.Role" },
	{ "rbac.authorization.k8s.io/v1", "RoleBinding", "apis/rbac.authorization.k8s.io/v1",
	  "io.k8s.api.rbac.v1.RoleBinding" },
	{ "rbac.authorization.k8s.io/v1", "ClusterRole", "apis/rbac.authorization.k8s.io/v1",
	  "io.k8s.api.rbac.v1.ClusterRole" },
	{ "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "apis/rbac.authorization.k8s.io/v1",
	  "io.k8s.api.rbac.v1.ClusterRoleBinding" },
	{ "certificates.k8s.io/v1", "CertificateSigningRequest", "apis/certificates.k8s.io/v1",
	  "io.k8s.api.certificates.v1.CertificateSigningRequest" },
};

/* ---- helpers ----------------------------------------------------------------------------- */

static cJSON *parse_doc(const char *text)
{
	assert_non_null(text);
	cJSON *doc = cJSON_Parse(text);
	assert_non_null(doc);
	return doc;
}

/* Does list (an array of {group, kind, version}) contain this GVK? */
static bool has_gvk(const cJSON *list, const char *api_version, const char *kind)
{
	const char *slash = strchr(api_version, '/');
	char group[64] = "";
	const char *version = api_version;
	if (slash) {
		snprintf(group, sizeof(group), "%.*s", (int)(slash - api_version), api_version);
		version = slash + 1;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, list)
	{
		const char *g = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "group"));
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "kind"));
		const char *v =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "version"));
		if (g && k && v && !strcmp(g, group) && !strcmp(k, kind) && !strcmp(v, version))
			return true;
	}
	return false;
}

/* Walks a schema tree; for each "$ref" checks that the target exists in defs. Returns refs seen. */
static int check_refs(const cJSON *node, const cJSON *defs, const char *prefix)
{
	int n = 0;
	if (!node)
		return 0;
	if (node->string && !strcmp(node->string, "$ref")) {
		const char *r = cJSON_GetStringValue(node);
		assert_non_null(r);
		if (strncmp(r, prefix, strlen(prefix)) != 0)
			fail_msg("ref %s does not start with %s", r, prefix);
		if (!cJSON_GetObjectItemCaseSensitive(defs, r + strlen(prefix)))
			fail_msg("ref %s does not resolve", r);
		return 1;
	}
	for (const cJSON *c = node->child; c; c = c->next)
		n += check_refs(c, defs, prefix);
	return n;
}

static const cJSON *prop(const cJSON *defs, const char *def, const char *field)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(defs, def);
	if (!d)
		fail_msg("no definition %s", def);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(d, "properties"), field);
	if (!p)
		fail_msg("no property %s in %s", field, def);
	return p;
}

static const char *str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* ---- documents --------------------------------------------------------------------------- */

static void test_v2_has_every_served_kind_with_its_gvk(void **state)
{
	size_t len = 0;
	const char *text = schema_openapi_v2(&len);
	const char *etag = schema_openapi_etag(text);
	cJSON *doc = parse_doc(text);
	assert_int_equal(len, strlen(text));
	assert_true(len > 1000);
	assert_non_null(etag);
	assert_int_equal(strlen(etag), 18);
	assert_string_equal(str(doc, "swagger"), "2.0");
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "definitions");
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(defs, kinds[i].def);
		if (!d)
			fail_msg("no definition %s", kinds[i].def);
		const cJSON *g =
		    cJSON_GetObjectItemCaseSensitive(d, "x-kubernetes-group-version-kind");
		assert_true(has_gvk(g, kinds[i].api_version, kinds[i].kind));
		assert_non_null(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(d, "properties"), "metadata"));
		/* and its list */
		char list[128], listkind[64];
		snprintf(list, sizeof(list), "%sList", kinds[i].def);
		snprintf(listkind, sizeof(listkind), "%sList", kinds[i].kind);
		d = cJSON_GetObjectItemCaseSensitive(defs, list);
		if (!d)
			fail_msg("no definition %s", list);
		assert_true(
		    has_gvk(cJSON_GetObjectItemCaseSensitive(d, "x-kubernetes-group-version-kind"),
		            kinds[i].api_version, listkind));
		const cJSON *req = cJSON_GetObjectItemCaseSensitive(d, "required");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(req, 0)), "items");
	}
	static const char *const more[] = {
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
		"io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Time",
		"io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
		"io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Status",
		"io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
		"io.k8s.apimachinery.pkg.util.intstr.IntOrString",
		"io.k8s.apimachinery.pkg.api.resource.Quantity",
		"io.k8s.api.autoscaling.v1.Scale",
		"io.k8s.api.policy.v1.Eviction",
	};
	for (size_t i = 0; i < ARRAY_SIZE(more); i++)
		if (!cJSON_GetObjectItemCaseSensitive(defs, more[i]))
			fail_msg("no definition %s", more[i]);
	assert_true(check_refs(doc, defs, "#/definitions/") > 500);
	cJSON_Delete(doc);
}

static void test_v2_fields_have_types_formats_and_extensions(void **state)
{
	cJSON *doc = parse_doc(schema_openapi_v2(NULL));
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "definitions");
	const cJSON *p = prop(defs, "io.k8s.api.core.v1.PodSpec", "containers");
	assert_string_equal(str(p, "type"), "array");
	assert_string_equal(str(p, "x-kubernetes-patch-merge-key"), "name");
	assert_string_equal(str(p, "x-kubernetes-patch-strategy"), "merge");
	assert_string_equal(str(p, "x-kubernetes-list-type"), "map");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(p, "items"), "$ref"),
	                    "#/definitions/io.k8s.api.core.v1.Container");
	p = prop(defs, "io.k8s.api.core.v1.PodSpec", "terminationGracePeriodSeconds");
	assert_string_equal(str(p, "format"), "int64");
	p = prop(defs, "io.k8s.api.core.v1.ContainerPort", "containerPort");
	assert_string_equal(str(p, "format"), "int32");
	p = prop(defs, "io.k8s.api.core.v1.Container", "imagePullPolicy");
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "enum")) == 3);
	p = prop(defs, "io.k8s.api.core.v1.Secret", "data");
	assert_string_equal(
	    str(cJSON_GetObjectItemCaseSensitive(p, "additionalProperties"), "format"), "byte");
	p = prop(defs, "io.k8s.api.core.v1.ServicePort", "targetPort");
	assert_string_equal(str(p, "$ref"),
	                    "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString");
	const cJSON *ios = cJSON_GetObjectItemCaseSensitive(
	    defs, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
	assert_string_equal(str(ios, "format"), "int-or-string");
	const cJSON *t =
	    cJSON_GetObjectItemCaseSensitive(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.Time");
	assert_string_equal(str(t, "format"), "date-time");
	const cJSON *sel = cJSON_GetObjectItemCaseSensitive(
	    defs, "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector");
	assert_string_equal(str(sel, "x-kubernetes-map-type"), "atomic");
	p = prop(defs, "io.k8s.api.core.v1.ServiceSpec", "ports");
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(p, "x-kubernetes-list-map-keys");
	assert_int_equal(cJSON_GetArraySize(keys), 2);
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(defs, "io.k8s.api.core.v1.Container"), "required");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(req, 0)), "name");
	cJSON_Delete(doc);
}

static void test_every_type_and_field_is_described(void **state)
{
	cJSON *doc = parse_doc(schema_openapi_v2(NULL));
	const cJSON *defs = cJSON_GetObjectItemCaseSensitive(doc, "definitions"), *d, *f;
	cJSON_ArrayForEach(d, defs)
	{
		const char *text = str(d, "description");
		if (!text || strlen(text) < 10 || text[0] == '$')
			fail_msg("%s has no description", d->string);
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "properties"))
		{
			text = str(f, "description");
			if (!text || strlen(text) < 3 || text[0] == '$')
				fail_msg("%s.%s has no description", d->string, f->string);
		}
	}
	cJSON_Delete(doc);
}

static void test_v2_paths_carry_gvk_and_field_validation(void **state)
{
	cJSON *doc = parse_doc(schema_openapi_v2(NULL));
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
	const cJSON *p =
	    cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/namespaces/{namespace}/pods/{name}");
	assert_non_null(p);
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(p, "patch");
	assert_non_null(patch);
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(patch, "x-kubernetes-group-version-kind");
	assert_string_equal(str(g, "kind"), "Pod");
	assert_string_equal(str(g, "group"), "");
	bool fv = false;
	const cJSON *param;
	cJSON_ArrayForEach(param, cJSON_GetObjectItemCaseSensitive(patch, "parameters")) fv |=
	    !strcmp(str(param, "name"), "fieldValidation") && !strcmp(str(param, "in"), "query");
	assert_true(fv);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/nodes/{name}"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(
	    paths, "/apis/apps/v1/namespaces/{namespace}/deployments"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(
	    paths, "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"));
	cJSON_Delete(doc);
}

static void test_v3_index_lists_every_group_version(void **state)
{
	const char *text = schema_openapi_v3_index(NULL);
	const char *etag = schema_openapi_etag(text);
	cJSON *idx = parse_doc(text);
	assert_non_null(etag);
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(idx, "paths");
	size_t n = 0;
	const char *const *gvs = schema_group_versions(&n);
	assert_int_equal(n, 8);
	assert_int_equal(cJSON_GetArraySize(paths), 8);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(paths, kinds[i].gv);
		if (!e)
			fail_msg("index lacks %s", kinds[i].gv);
		const char *url = str(e, "serverRelativeURL");
		char want[160];
		const char *tag = schema_openapi_etag(schema_openapi_v3(kinds[i].gv, NULL));
		assert_non_null(tag);
		snprintf(want, sizeof(want), "/openapi/v3/%s?hash=%.16s", kinds[i].gv, tag + 1);
		assert_string_equal(url, want);
	}
	for (size_t i = 0; i < n; i++)
		assert_non_null(cJSON_GetObjectItemCaseSensitive(paths, gvs[i]));
	assert_null(schema_openapi_v3("apis/extensions/v1beta1", NULL));
	assert_null(schema_openapi_v3(NULL, NULL));
	cJSON_Delete(idx);
}

static void test_v3_documents_hold_their_kinds_and_resolve_refs(void **state)
{
	size_t n = 0;
	const char *const *gvs = schema_group_versions(&n);
	for (size_t i = 0; i < n; i++) {
		cJSON *doc = parse_doc(schema_openapi_v3(gvs[i], NULL));
		assert_string_equal(str(doc, "openapi"), "3.0.0");
		const cJSON *schemas = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(doc, "components"), "schemas");
		assert_non_null(schemas);
		assert_true(check_refs(doc, schemas, "#/components/schemas/") > 0);
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			if (strcmp(kinds[k].gv, gvs[i]))
				continue;
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(schemas, kinds[k].def);
			if (!d)
				fail_msg("%s lacks %s", gvs[i], kinds[k].def);
			assert_true(has_gvk(
			    cJSON_GetObjectItemCaseSensitive(d, "x-kubernetes-group-version-kind"),
			    kinds[k].api_version, kinds[k].kind));
		}
		cJSON_Delete(doc);
	}
	/* apps/v1 carries the pod template from core and the Scale subresource's kind */
	cJSON *apps = parse_doc(schema_openapi_v3("apis/apps/v1", NULL));
	const cJSON *schemas = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(apps, "components"), "schemas");
	assert_non_null(
	    cJSON_GetObjectItemCaseSensitive(schemas, "io.k8s.api.core.v1.PodTemplateSpec"));
	assert_non_null(
	    cJSON_GetObjectItemCaseSensitive(schemas, "io.k8s.api.autoscaling.v1.Scale"));
	assert_null(cJSON_GetObjectItemCaseSensitive(schemas, "io.k8s.api.core.v1.Node"));
	/* a described ref is wrapped in allOf, as OpenAPI 3.0 ignores siblings of $ref */
	const cJSON *spec = prop(schemas, "io.k8s.api.apps.v1.Deployment", "spec");
	assert_string_equal(
	    str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(spec, "allOf"), 0), "$ref"),
	    "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec");
	const cJSON *ios = cJSON_GetObjectItemCaseSensitive(
	    schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ios, "oneOf")), 2);
	/* kubectl apply looks for strategic merge among PATCH's request media types */
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(apps, "paths"),
	        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
	    "patch");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(patch, "requestBody"),
	                                     "content"),
	    "application/strategic-merge-patch+json"));
	cJSON_Delete(apps);
}

static uint64_t pb_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	for (int shift = 0;; shift += 7) {
		if (*p >= end || shift > 63)
			fail_msg("truncated varint");
		uint8_t c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
}

/* Reads one protobuf field (varint or length-delimited; the only wire types we write);
 * false at the end. Malformed input fails the test. */
static bool pb_field(const uint8_t **p, const uint8_t *end, int *field, const uint8_t **val,
                     size_t *len)
{
	if (*p >= end)
		return false;
	uint64_t key = pb_varint(p, end);
	*field = (int)(key >> 3);
	*val = NULL;
	*len = 0;
	if ((key & 7) == 0) {
		pb_varint(p, end);
		return true;
	}
	if ((key & 7) != 2)
		fail_msg("unexpected wire type %d", (int)(key & 7));
	uint64_t n = pb_varint(p, end);
	if (n > (uint64_t)(end - *p))
		fail_msg("field %d overruns its message", *field);
	*val = *p;
	*len = (size_t)n;
	*p += n;
	return true;
}

static void test_v2_protobuf_mirrors_the_json_document(void **state)
{
	size_t len = 0;
	const uint8_t *pb = (const uint8_t *)schema_openapi_v2_pb(&len), *end = pb + len, *val;
	assert_non_null(pb);
	assert_ptr_equal(pb, schema_openapi_v2_pb(NULL));
	assert_non_null(schema_openapi_etag((const char *)pb));
	cJSON *doc = parse_doc(schema_openapi_v2(NULL));
	int field, ndefs = 0, npaths = 0;
	size_t n;
	bool swagger = false;
	while (pb_field(&pb, end, &field, &val, &n)) {
		if (field == 1)
			swagger = n == 3 && !memcmp(val, "2.0", 3);
		const uint8_t *q = val, *qend = val + n, *v2;
		int f2;
		size_t n2;
		if (field == 8)
			while (pb_field(&q, qend, &f2, &v2, &n2))
				npaths += f2 == 2;
		if (field != 9)
			continue;
		while (pb_field(&q, qend, &f2, &v2, &n2)) {
			assert_int_equal(f2, 1);
			/* NamedSchema: name, then a Schema whose own fields all parse */
			const uint8_t *r = v2, *rend = v2 + n2, *v3;
			int f3;
			size_t n3;
			char name[160] = "";
			while (pb_field(&r, rend, &f3, &v3, &n3)) {
				if (f3 == 1)
					snprintf(name, sizeof(name), "%.*s", (int)n3,
					         (const char *)v3);
				if (f3 == 2) {
					const uint8_t *t = v3, *tend = v3 + n3, *v4;
					int f4;
					size_t n4;
					while (pb_field(&t, tend, &f4, &v4, &n4))
						;
				}
			}
			if (!cJSON_GetObjectItemCaseSensitive(
			        cJSON_GetObjectItemCaseSensitive(doc, "definitions"), name))
				fail_msg("protobuf has definition %s the JSON lacks", name);
			ndefs++;
		}
	}
	assert_true(swagger);
	assert_int_equal(ndefs,
	                 cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "definitions")));
	assert_int_equal(npaths,
	                 cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "paths")));
	cJSON_Delete(doc);
}

static void test_documents_are_cached_and_stable(void **state)
{
	const char *a = schema_openapi_v2(NULL);
	const char *b = schema_openapi_v2(NULL);
	assert_ptr_equal(a, b);
	assert_ptr_equal(schema_openapi_etag(a), schema_openapi_etag(b));
	const char *x = schema_openapi_etag(schema_openapi_v3("api/v1", NULL));
	const char *y = schema_openapi_etag(schema_openapi_v3("apis/apps/v1", NULL));
	assert_string_not_equal(x, y);
	assert_null(schema_openapi_etag("not a document"));
	assert_null(schema_openapi_etag(NULL));
}

/* ---- strategic merge metadata ------------------------------------------------------------ */

static void test_well_known_lists_have_their_merge_keys(void **state)
{
	static const struct {
		const char *av, *kind, *path, *key;
		bool retain;
	} cases[] = {
		{ "v1", "Pod", "spec.containers", "name", false },
		{ "v1", "Pod", "spec.initContainers", "name", false },
		{ "v1", "Pod", "spec.volumes", "name", true },
		{ "v1", "Pod", "spec.containers.env", "name", false },
		{ "v1", "Pod", "spec.containers.ports", "containerPort", false },
		{ "v1", "Pod", "spec.containers.volumeMounts", "mountPath", false },
		{ "v1", "Pod", "spec.tolerations", NULL, false },
		{ "v1", "Pod", "spec.imagePullSecrets", "name", false },
		{ "v1", "Pod", "status.conditions", "type", false },
		{ "v1", "Pod", "metadata.ownerReferences", "uid", false },
		{ "v1", "Service", "spec.ports", "port", false },
		{ "apps/v1", "Deployment", "spec.template.spec.containers", "name", false },
		{ "apps/v1", "Deployment", "spec.template.spec.containers.env", "name", false },
		{ "apps/v1", "StatefulSet", "spec.template.spec.volumes", "name", true },
		{ "batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec.containers", "name",
		  false },
		{ "v1", "Node", "spec.taints", NULL, false },
		{ "v1", "Node", "status.addresses", "type", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct schema_patch_meta pm;
		if (schema_patch_meta(cases[i].av, cases[i].kind, cases[i].path, &pm) != 0)
			fail_msg("%s %s: not found", cases[i].kind, cases[i].path);
		assert_true(pm.found && pm.is_list);
		if (cases[i].key) {
			if (!pm.merge_key || strcmp(pm.merge_key, cases[i].key))
				fail_msg("%s %s: key %s", cases[i].kind, cases[i].path,
				         pm.merge_key ? pm.merge_key : "(none)");
			assert_true(pm.merge);
		} else {
			assert_null(pm.merge_key);
			assert_false(pm.merge);
		}
		assert_int_equal(pm.retain_keys, cases[i].retain);
	}
}

static void test_patch_meta_reports_list_types_and_strategies(void **state)
{
	struct schema_patch_meta pm;
	assert_int_equal(schema_patch_meta("v1", "Pod", "metadata.finalizers", &pm), 0);
	assert_true(pm.merge && !pm.merge_key);
	assert_int_equal(pm.list_type, SCHEMA_LIST_SET);
	assert_int_equal(schema_patch_meta("v1", "Service", "spec.ports", &pm), 0);
	assert_int_equal(pm.list_type, SCHEMA_LIST_MAP);
	assert_string_equal(pm.map_keys[0], "port");
	assert_string_equal(pm.map_keys[1], "protocol");
	assert_null(pm.map_keys[2]);
	assert_int_equal(schema_patch_meta("apps/v1", "Deployment", "spec.strategy", &pm), 0);
	assert_true(pm.retain_keys && !pm.merge && !pm.is_list);
	assert_int_equal(schema_patch_meta("apps/v1", "Deployment", "spec.selector", &pm), 0);
	assert_true(pm.atomic_map);
	assert_int_equal(schema_patch_meta("v1", "ConfigMap", "data", &pm), 0);
	assert_true(pm.is_map && !pm.is_list);
	assert_int_equal(schema_patch_meta("v1", "Pod", "metadata.labels.app", &pm), 0);
	assert_true(pm.is_map);
	assert_int_equal(
	    schema_patch_meta("v1", "Pod", "spec.containers.resources.limits.cpu", &pm), 0);
	assert_int_equal(schema_patch_meta("v1", "Pod", "spec.nope", &pm), -ENOENT);
	assert_false(pm.found);
	assert_int_equal(schema_patch_meta("v1", "Pod", "spec..containers", &pm), -ENOENT);
	assert_int_equal(schema_patch_meta("v1", "Pod", "spec.nodeName.x", &pm), -ENOENT);
	assert_int_equal(schema_patch_meta("v1", "Pod", "", &pm), -ENOENT);
	assert_int_equal(schema_patch_meta("v1", "Widget", "spec", &pm), -ENOENT);
	assert_int_equal(schema_patch_meta("apps/v1", "Pod", "spec", &pm), -ENOENT);
}

/* ---- strict validation ------------------------------------------------------------------- */

static struct schema_issues check(const char *av, const char *kind, const char *json)
{
	struct schema_issues is = { 0 };
	cJSON *o = cJSON_Parse(json);
	if (!o)
		fail_msg("bad test JSON: %s", json);
	assert_int_equal(schema_check_fields(av, kind, o, &is), 0);
	cJSON_Delete(o);
	return is;
}

static void expect_clean(const char *av, const char *kind, const char *json)
{
	struct schema_issues is = check(av, kind, json);
	if (is.n)
		fail_msg("%s: unexpected %s", kind, is.v[0].message);
	schema_issues_free(&is);
}

static void test_strict_accepts_valid_objects(void **state)
{
	expect_clean(
	    "v1", "Pod",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
	    "\"labels\":{\"app\":\"web\",\"tier\":\"front\"},\"annotations\":{\"a/b\":\"c\"}},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"ports\":"
	    "[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"resources\":{\"limits\":{\"cpu\":"
	    "\"500m\",\"memory\":\"128Mi\"},\"requests\":{\"cpu\":0.5}},\"env\":[{\"name\":\"A\","
	    "\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],"
	    "\"livenessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":\"http\"}},"
	    "\"readinessProbe\":{\"tcpSocket\":{\"port\":8080}}}],"
	    "\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"cm\"}},{\"name\":\"e\","
	    "\"emptyDir\":{\"sizeLimit\":\"1Gi\"}}],\"nodeSelector\":{\"disk\":\"ssd\"}}}");
	expect_clean(
	    "apps/v1", "Deployment",
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},"
	    "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"d\"}},"
	    "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":\"25%\","
	    "\"maxUnavailable\":1}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},"
	    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",\"command\":"
	    "[\"sleep\",\"1d\"]}]}}}}");
	expect_clean(
	    "v1", "ConfigMap",
	    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
	    "\"data\":{\"any.key\":\"x\",\"other\":\"y\"},\"binaryData\":{\"b\":\"AAE=\"}}");
	expect_clean(
	    "v1", "Service",
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},"
	    "\"spec\":{\"selector\":{\"app\":\"d\"},\"ports\":[{\"port\":80,\"targetPort\":"
	    "\"http\"}],\"type\":\"NodePort\"}}");
	expect_clean(
	    "apps/v1", "ControllerRevision",
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ControllerRevision\",\"metadata\":{\"name\":"
	    "\"r\",\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:spec\":{\"."
	    "\":{}}}}]},\"revision\":1,\"data\":{\"anything\":{\"goes\":[1,2]}}}");
	expect_clean(
	    "v1", "PodList",
	    "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},"
	    "\"items\":[{\"metadata\":{\"name\":\"a\"}}]}");
	expect_clean(
	    "v1", "Status",
	    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
	    "\"reason\":\"NotFound\",\"details\":{\"name\":\"x\",\"kind\":\"pods\"},\"code\":404}");
	expect_clean(
	    "batch/v1", "CronJob",
	    "{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"c\"},"
	    "\"spec\":{\"schedule\":\"*/5 * * * *\",\"jobTemplate\":{\"spec\":{\"template\":"
	    "{\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"c\","
	    "\"image\":\"busybox\"}]}}}}}}");
}

static void test_strict_finds_unknown_fields_with_their_paths(void **state)
{
	struct schema_issues is =
	    check("v1", "Pod",
	          "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"nme\":1},"
	          "\"spec\":{\"foo\":1,\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"imagee\":"
	          "\"x\",\"resources\":{\"limits\":{\"cpu\":1},\"limit\":{}}}]},\"extra\":true}");
	assert_int_equal(is.n, 5);
	assert_string_equal(is.v[0].message, "unknown field \"metadata.nme\"");
	assert_string_equal(is.v[0].path, "metadata.nme");
	assert_string_equal(is.v[1].message, "unknown field \"spec.foo\"");
	assert_string_equal(is.v[2].message, "unknown field \"spec.containers[1].imagee\"");
	assert_string_equal(is.v[3].message,
	                    "unknown field \"spec.containers[1].resources.limit\"");
	assert_string_equal(is.v[4].message, "unknown field \"extra\"");
	schema_issues_free(&is);

	is = check(
	    "apps/v1", "Deployment",
	    "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"bogus\":1}]}}}}");
	assert_int_equal(is.n, 1);
	assert_string_equal(is.v[0].path, "spec.template.spec.containers[0].bogus");
	schema_issues_free(&is);
}

static void test_strict_finds_duplicate_fields(void **state)
{
	struct schema_issues is = check(
	    "v1", "ConfigMap",
	    "{\"metadata\":{\"name\":\"a\",\"name\":\"b\",\"labels\":{\"x\":\"1\",\"x\":\"2\"}},"
	    "\"data\":{\"k\":\"v\",\"k\":\"w\"},\"kind\":\"ConfigMap\",\"kind\":\"ConfigMap\"}");
	assert_int_equal(is.n, 4);
	assert_string_equal(is.v[0].message, "duplicate field \"metadata.name\"");
	assert_string_equal(is.v[1].message, "duplicate field \"metadata.labels.x\"");
	assert_string_equal(is.v[2].message, "duplicate field \"data.k\"");
	assert_string_equal(is.v[3].message, "duplicate field \"kind\"");
	schema_issues_free(&is);

	/* many keys: the sorted path finds the same duplicates */
	struct buf b = { 0 };
	buf_adds(&b, "{\"data\":{");
	for (int i = 0; i < 500; i++)
		buf_printf(&b, "\"k%d\":\"v\",", i);
	buf_adds(&b, "\"k7\":\"again\",\"k400\":\"again\"}}");
	is = check("v1", "ConfigMap", b.data);
	assert_int_equal(is.n, 2);
	assert_string_equal(is.v[0].path, "data.k7");
	assert_string_equal(is.v[1].path, "data.k400");
	schema_issues_free(&is);
	buf_free(&b);

	/* one key many times over: reported (up to the cap) without quadratic work */
	buf_adds(&b, "{\"data\":{");
	for (int i = 0; i < 20000; i++)
		buf_printf(&b, "%s\"same\":\"v\"", i ? "," : "");
	buf_adds(&b, "}}");
	is = check("v1", "ConfigMap", b.data);
	assert_int_equal(is.n, SCHEMA_MAX_ISSUES);
	assert_string_equal(is.v[0].message, "duplicate field \"data.same\"");
	schema_issues_free(&is);
	buf_free(&b);
}

static void test_strict_is_bounded_and_safe_on_odd_input(void **state)
{
	struct schema_issues is = { 0 };
	cJSON *o = cJSON_Parse("[1,2]");
	assert_int_equal(schema_check_fields("v1", "Pod", o, &is), -EINVAL);
	cJSON_Delete(o);
	o = cJSON_Parse("{}");
	assert_int_equal(schema_check_fields("v1", "Widget", o, &is), -ENOENT);
	assert_int_equal(schema_check_fields("nope/v9", "Pod", o, &is), -ENOENT);
	assert_int_equal(schema_check_fields(NULL, NULL, o, &is), -ENOENT);
	cJSON_Delete(o);
	/* wrong JSON types are not strict validation's business, and do not crash it */
	is = check(
	    "v1", "Pod",
	    "{\"metadata\":\"x\",\"spec\":{\"containers\":{\"a\":1},\"volumes\":[1,null,\"x\"]}}");
	assert_int_equal(is.n, 0);
	/* many unknown fields: capped */
	struct buf b = { 0 };
	buf_adds(&b, "{");
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "%s\"f%d\":1", i ? "," : "", i);
	buf_adds(&b, "}");
	is = check("v1", "Pod", b.data);
	assert_int_equal(is.n, SCHEMA_MAX_ISSUES);
	schema_issues_free(&is);
	buf_free(&b);
	assert_true(schema_has_kind("v1", "PodList"));
	assert_true(schema_has_kind("apps/v1", "DeploymentList"));
	assert_false(schema_has_kind("v1", "PodLis"));
	assert_false(schema_has_kind("v1", "Pods"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_has_every_served_kind_with_its_gvk),
		cmocka_unit_test(test_v2_fields_have_types_formats_and_extensions),
		cmocka_unit_test(test_every_type_and_field_is_described),
		cmocka_unit_test(test_v2_paths_carry_gvk_and_field_validation),
		cmocka_unit_test(test_v3_index_lists_every_group_version),
		cmocka_unit_test(test_v3_documents_hold_their_kinds_and_resolve_refs),
		cmocka_unit_test(test_v2_protobuf_mirrors_the_json_document),
		cmocka_unit_test(test_documents_are_cached_and_stable),
		cmocka_unit_test(test_well_known_lists_have_their_merge_keys),
		cmocka_unit_test(test_patch_meta_reports_list_types_and_strategies),
		cmocka_unit_test(test_strict_accepts_valid_objects),
		cmocka_unit_test(test_strict_finds_unknown_fields_with_their_paths),
		cmocka_unit_test(test_strict_finds_duplicate_fields),
		cmocka_unit_test(test_strict_is_bounded_and_safe_on_odd_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
