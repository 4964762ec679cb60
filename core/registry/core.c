/* core: strategies of the plain core/v1 kinds: namespaces, nodes, configmaps, secrets,
 * serviceaccounts, resourcequotas, limitranges and persistentvolumeclaims. */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

#define MAX_DATA_BYTES (1024 * 1024)

/* --- namespaces ----------------------------------------------------------------------------- */

static void ns_defaults(cJSON *obj)
{
	reg_def_str(reg_obj(obj, "status", true), "phase", "Active");
	/* Every namespace carries its own name as a label, for namespace selectors. */
	const char *name = reg_at_str(obj, "metadata.name");
	if (name && *name) {
		cJSON *labels = reg_obj(reg_obj(obj, "metadata", true), "labels", true);
		const char *have = reg_get_str(labels, "kubernetes.io/metadata.name");
		if (labels && (!have || strcmp(have, name) != 0))
			reg_set(labels, "kubernetes.io/metadata.name", cJSON_CreateString(name));
	}
}

static void ns_prepare_create(cJSON *obj)
{
	ns_defaults(obj);
	cJSON *st = reg_reset_status(obj);
	cJSON_AddStringToObject(st, "phase", "Active");
	/* The namespace controller's finalizer: deletion waits until the contents are gone. */
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return; /* not an object: validation reports it */
	cJSON *fin = cJSON_GetObjectItemCaseSensitive(spec, "finalizers");
	if (!fin || cJSON_IsNull(fin)) {
		fin = cJSON_CreateArray();
		reg_set(spec, "finalizers", fin);
	}
	if (!cJSON_IsArray(fin))
		return;
	const cJSON *f;
	cJSON_ArrayForEach(f, fin)
	{
		if (cJSON_IsString(f) && !strcmp(f->valuestring, "kubernetes"))
			return;
	}
	cJSON_AddItemToArray(fin, cJSON_CreateString("kubernetes"));
}

static void ns_prepare_update(cJSON *obj, const cJSON *old)
{
	const cJSON *fin = reg_at(old, "spec.finalizers");
	cJSON *spec = reg_obj(obj, "spec", true);
	if (spec)
		reg_set(spec, "finalizers", fin ? cJSON_Duplicate(fin, true) : cJSON_CreateNull());
	if (!fin && spec)
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "finalizers");
}

static void ns_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	reg_vkey(&v, "spec");
	const cJSON *fins = reg_varr(&v, spec, "finalizers"), *f;
	int i = 0;
	cJSON_ArrayForEach(f, fins)
	{
		size_t m = reg_vkey(&v, "finalizers");
		reg_vidx(&v, i++);
		if (!cJSON_IsString(f))
			reg_vinvalid(&v, NULL, f, "must be a string");
		else if (strcmp(f->valuestring, "kubernetes") != 0 &&
		         (obj_validate_qualified_name(f->valuestring, NULL) ||
		          !strchr(f->valuestring, '/')))
			reg_vinvalid_str(
			    &v, NULL, f->valuestring,
			    "name is neither a standard finalizer name nor is it fully "
			    "qualified");
		reg_vpop(&v, m);
	}
	UNUSED(old);
}

static const struct reg_column ns_columns[] = {
	{ "Name", "string", "name", "Name of the namespace.", 0 },
	{ "Status", "string", "", "Whether the namespace is active or being terminated.", 0 },
	{ "Age", "string", "", "Time since the namespace was created.", 0 },
};

static void ns_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, reg_at_strz(obj, "status.phase"));
	reg_cell_age(cells, obj, now);
}

static bool ns_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (!strcmp(field, "status.phase"))
		return reg_field_out(out, outlen, reg_at_str(obj, "status.phase"));
	return false;
}

const struct reg_kind reg_kind_namespaces = {
	.group = "",
	.version = "v1",
	.resource = "namespaces",
	.kind = "Namespace",
	.list_kind = "NamespaceList",
	.singular = "namespace",
	.short_names = "ns",
	.categories = "",
	.namespaced = false,
	.subresources = REG_SUB_STATUS,
	.storage = "core/namespaces",
	.name_is_label = true,
	.defaults = ns_defaults,
	.prepare_create = ns_prepare_create,
	.prepare_update = ns_prepare_update,
	.validate = ns_validate,
	.columns = ns_columns,
	.ncolumns = ARRAY_SIZE(ns_columns),
	.row = ns_row,
	.field = ns_field,
};

/* --- nodes ---------------------------------------------------------------------------------- */

static void node_defaults(cJSON *obj)
{
	cJSON *st = reg_obj(obj, "status", false);
	cJSON *cap = reg_obj(st, "capacity", false);
	reg_resource_list_defaults(cap);
	if (cap && !reg_get(st, "allocatable"))
		reg_set(st, "allocatable", cJSON_Duplicate(cap, true));
	reg_resource_list_defaults(reg_obj(st, "allocatable", false));
}

static void node_validate_status_part(struct reg_vctx *v, const cJSON *obj)
{
	static const char *const addr_types[] = { "Hostname",    "InternalIP",  "ExternalIP",
		                                  "InternalDNS", "ExternalDNS", NULL };
	const cJSON *st = reg_vobj(v, obj, "status");
	if (!st)
		return;
	size_t m = reg_vkey(v, "status");
	reg_vresource_list(v, st, "capacity");
	reg_vresource_list(v, st, "allocatable");
	const cJSON *addrs = reg_varr(v, st, "addresses"), *a;
	int i = 0;
	cJSON_ArrayForEach(a, addrs)
	{
		size_t m2 = reg_vkey(v, "addresses");
		reg_vidx(v, i++);
		reg_venum(v, a, "type", true, addr_types);
		reg_vstr_req(v, a, "address");
		reg_vpop(v, m2);
	}
	reg_varr(v, st, "conditions");
	reg_vobj(v, st, "nodeInfo");
	reg_vpop(v, m);
}

static void node_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const effects[] = { "NoSchedule", "PreferNoSchedule", "NoExecute",
		                               NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	size_t m = reg_vkey(&v, "spec");
	const char *cidr = reg_vstr(&v, spec, "podCIDR");
	if (cidr && *cidr && !reg_is_cidr(cidr))
		reg_vinvalid_str(&v, "podCIDR", cidr, "must be a valid CIDR");
	const cJSON *cidrs = reg_varr(&v, spec, "podCIDRs"), *c;
	int i = 0;
	cJSON_ArrayForEach(c, cidrs)
	{
		size_t m2 = reg_vkey(&v, "podCIDRs");
		reg_vidx(&v, i++);
		if (!cJSON_IsString(c) || !reg_is_cidr(c->valuestring))
			reg_vinvalid(&v, NULL, c, "must be a valid CIDR");
		reg_vpop(&v, m2);
	}
	reg_vbool(&v, spec, "unschedulable");
	const cJSON *taints = reg_varr(&v, spec, "taints"), *t;
	i = 0;
	cJSON_ArrayForEach(t, taints)
	{
		size_t m2 = reg_vkey(&v, "taints");
		reg_vidx(&v, i);
		const char *key = reg_vstr_req(&v, t, "key");
		if (key)
			reg_vqualified(&v, "key", key);
		const char *val = reg_vstr(&v, t, "value");
		if (val)
			reg_vlabel_value(&v, "value", val);
		const char *effect = reg_venum(&v, t, "effect", true, effects);
		const cJSON *o;
		int j = 0;
		cJSON_ArrayForEach(o, taints)
		{
			if (j++ >= i)
				break;
			if (key && effect && !strcmp(reg_at_strz(o, "key"), key) &&
			    !strcmp(reg_at_strz(o, "effect"), effect)) {
				reg_vduplicate(&v, NULL, t);
				break;
			}
		}
		reg_vpop(&v, m2);
		i++;
	}
	if (old) {
		const cJSON *op = reg_at(old, "spec.podCIDRs");
		if (reg_count(op) > 0 && !reg_json_equal(op, reg_get(spec, "podCIDRs")))
			reg_vforbidden(
			    &v, "podCIDRs",
			    "node updates may not change podCIDR except from \"\" to valid");
		const char *opid = reg_at_strz(old, "spec.providerID");
		if (*opid && strcmp(opid, reg_at_strz(spec, "providerID")) != 0)
			reg_vforbidden(&v, "providerID",
			               "node updates may not change providerID except from \"\" to "
			               "valid");
	}
	reg_vpop(&v, m);
	/* Nodes are created with their status by the kubelet. */
	if (!old)
		node_validate_status_part(&v, obj);
}

static void node_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	node_validate_status_part(&v, obj);
	UNUSED(old);
}

static const struct reg_column node_columns[] = {
	{ "Name", "string", "name", "Name of the node.", 0 },
	{ "Status", "string", "", "Readiness of the node, and whether scheduling is disabled.", 0 },
	{ "Roles", "string", "", "Roles from the node's node-role.kubernetes.io/ labels.", 0 },
	{ "Age", "string", "", "Time since the node registered.", 0 },
	{ "Version", "string", "", "Version of the node's kubelet.", 0 },
	{ "Internal-IP", "string", "", "First internal address of the node.", 1 },
	{ "External-IP", "string", "", "First external address of the node.", 1 },
	{ "OS-Image", "string", "", "Operating system the node reports.", 1 },
	{ "Kernel-Version", "string", "", "Kernel version the node reports.", 1 },
	{ "Container-Runtime", "string", "", "Container runtime and version of the node.", 1 },
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void node_roles(const cJSON *obj, struct buf *b)
{
	const cJSON *labels = reg_at_obj(obj, "metadata.labels"), *l;
	int n = reg_count(labels), k = 0;
	const char **roles = xcalloc((size_t)n + 1, sizeof(*roles));
	cJSON_ArrayForEach(l, labels)
	{
		const char *r = NULL;
		if (str_has_prefix(l->string, "node-role.kubernetes.io/"))
			r = l->string + strlen("node-role.kubernetes.io/");
		else if (!strcmp(l->string, "kubernetes.io/role") && cJSON_IsString(l))
			r = l->valuestring;
		if (r && *r)
			roles[k++] = r;
	}
	qsort(roles, (size_t)k, sizeof(*roles), cmp_str);
	int out = 0;
	for (int i = 0; i < k; i++) {
		if (i && !strcmp(roles[i], roles[i - 1]))
			continue;
		buf_printf(b, "%s%s", out++ ? "," : "", roles[i]);
	}
	if (!out)
		buf_adds(b, "<none>");
	free(roles);
}

static const char *node_address(const cJSON *obj, const char *type)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, reg_at_arr(obj, "status.addresses"))
	{
		if (!strcmp(reg_at_strz(a, "type"), type))
			return reg_at_strz(a, "address");
	}
	return "<none>";
}

static void node_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	struct buf status = { 0 }, roles = { 0 };
	const cJSON *c;
	const char *ready = NULL;
	cJSON_ArrayForEach(c, reg_at_arr(obj, "status.conditions"))
	{
		if (!strcmp(reg_at_strz(c, "type"), "Ready"))
			ready = reg_at_strz(c, "status");
	}
	buf_adds(&status, !ready ? "Unknown" : !strcmp(ready, "True") ? "Ready" : "NotReady");
	if (reg_at_bool(obj, "spec.unschedulable", false))
		buf_adds(&status, ",SchedulingDisabled");
	node_roles(obj, &roles);
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_buf(cells, &status);
	reg_cell_buf(cells, &roles);
	reg_cell_age(cells, obj, now);
	reg_cell_str(cells, reg_at_strz(obj, "status.nodeInfo.kubeletVersion"));
	reg_cell_str(cells, node_address(obj, "InternalIP"));
	reg_cell_str(cells, node_address(obj, "ExternalIP"));
	static const char *const info[] = { "osImage", "kernelVersion", "containerRuntimeVersion" };
	for (size_t i = 0; i < ARRAY_SIZE(info); i++) {
		const char *s = reg_at_strz(reg_at(obj, "status.nodeInfo"), info[i]);
		reg_cell_str(cells, *s ? s : "<unknown>");
	}
}

static bool node_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (!strcmp(field, "spec.unschedulable"))
		return reg_field_out(
		    out, outlen, reg_at_bool(obj, "spec.unschedulable", false) ? "true" : "false");
	return false;
}

const struct reg_kind reg_kind_nodes = {
	.group = "",
	.version = "v1",
	.resource = "nodes",
	.kind = "Node",
	.list_kind = "NodeList",
	.singular = "node",
	.short_names = "no",
	.categories = "",
	.namespaced = false,
	.subresources = REG_SUB_STATUS | REG_SUB_PROXY,
	.storage = "core/nodes",
	.defaults = node_defaults,
	.validate = node_validate,
	.validate_status = node_validate_status,
	.columns = node_columns,
	.ncolumns = ARRAY_SIZE(node_columns),
	.row = node_row,
	.field = node_field,
};

/* --- configmaps and secrets ----------------------------------------------------------------- */

/* Once immutable, always immutable, and the data with it. */
static void validate_immutable_data(struct reg_vctx *v, const cJSON *obj, const cJSON *old,
                                    const char *const *data_keys)
{
	if (!old || !reg_at_bool(old, "immutable", false))
		return;
	if (!reg_at_bool(obj, "immutable", false))
		reg_vforbidden(v, "immutable", "field is immutable when `immutable` is set");
	for (int i = 0; data_keys[i]; i++)
		if (!reg_json_equal(reg_get(obj, data_keys[i]), reg_get(old, data_keys[i])) &&
		    (reg_count(reg_get(obj, data_keys[i])) ||
		     reg_count(reg_get(old, data_keys[i]))))
			reg_vforbidden(v, data_keys[i],
			               "field is immutable when `immutable` is set");
}

static void validate_keys(struct reg_vctx *v, const cJSON *map, const char *key)
{
	const cJSON *it;
	size_t m = reg_vkey(v, key);
	cJSON_ArrayForEach(it, map)
	{
		const char *e = reg_check_config_key(it->string);
		if (e) {
			size_t m2 = reg_vmap(v, it->string);
			reg_vinvalid_str(v, NULL, it->string, "%s", e);
			reg_vpop(v, m2);
		}
	}
	reg_vpop(v, m);
}

static void cm_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *data = reg_vstrmap(&v, obj, "data");
	const cJSON *bin = reg_vstrmap(&v, obj, "binaryData"), *it;
	reg_vbool(&v, obj, "immutable");
	validate_keys(&v, data, "data");
	validate_keys(&v, bin, "binaryData");
	size_t total = 0;
	cJSON_ArrayForEach(it, data)
	{
		if (cJSON_IsString(it))
			total += strlen(it->valuestring);
	}
	cJSON_ArrayForEach(it, bin)
	{
		size_t n = 0;
		if (!cJSON_IsString(it))
			continue;
		unsigned char *raw = reg_base64_decode(it->valuestring, &n);
		if (!raw) {
			size_t m = reg_vkey(&v, "binaryData");
			reg_vmap(&v, it->string);
			reg_vinvalid(&v, NULL, it, "must be base64-encoded");
			reg_vpop(&v, m);
		}
		free(raw);
		total += n;
		if (reg_get(data, it->string)) {
			size_t m = reg_vkey(&v, "data");
			reg_vmap(&v, it->string);
			reg_vinvalid_str(&v, NULL, it->string,
			                 "duplicate of key present in binaryData");
			reg_vpop(&v, m);
		}
	}
	if (total > MAX_DATA_BYTES)
		reg_vtoolong(&v, "data", MAX_DATA_BYTES);
	static const char *const keys[] = { "data", "binaryData", NULL };
	validate_immutable_data(&v, obj, old, keys);
}

static const struct reg_column cm_columns[] = {
	{ "Name", "string", "name", "Name of the config map.", 0 },
	{ "Data", "string", "", "Number of keys in data and binaryData.", 0 },
	{ "Age", "string", "", "Time since the config map was created.", 0 },
};

static void cm_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_int(cells,
	             reg_count(reg_at_obj(obj, "data")) + reg_count(reg_at_obj(obj, "binaryData")));
	reg_cell_age(cells, obj, now);
}

const struct reg_kind reg_kind_configmaps = {
	.group = "",
	.version = "v1",
	.resource = "configmaps",
	.kind = "ConfigMap",
	.list_kind = "ConfigMapList",
	.singular = "configmap",
	.short_names = "cm",
	.categories = "",
	.namespaced = true,
	.storage = "core/configmaps",
	.validate = cm_validate,
	.columns = cm_columns,
	.ncolumns = ARRAY_SIZE(cm_columns),
	.row = cm_row,
};

static void secret_defaults(cJSON *obj)
{
	reg_def_str(obj, "type", "Opaque");
	/* stringData is write-only: it is merged into data (base64) and not stored. */
	const cJSON *sd = reg_get(obj, "stringData"), *it;
	if (!cJSON_IsObject(sd))
		return;
	cJSON *data = reg_obj(obj, "data", true);
	if (!data)
		return;
	cJSON_ArrayForEach(it, sd)
	{
		if (!cJSON_IsString(it))
			return; /* validation reports it; keep stringData so that it can */
	}
	cJSON_ArrayForEach(it, sd)
	{
		char *enc = reg_base64_encode((const unsigned char *)it->valuestring,
		                              strlen(it->valuestring));
		reg_set(data, it->string, cJSON_CreateString(enc));
		free(enc);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "stringData");
}

static void secret_requires(struct reg_vctx *v, const cJSON *data, const char *key)
{
	if (!reg_get(data, key)) {
		size_t m = reg_vkey(v, "data");
		reg_vmap(v, key);
		reg_vreq(v, NULL, NULL);
		reg_vpop(v, m);
	}
}

static void secret_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *data = reg_vstrmap(&v, obj, "data"), *it;
	reg_vstrmap(&v, obj, "stringData");
	reg_vbool(&v, obj, "immutable");
	validate_keys(&v, data, "data");
	validate_keys(&v, reg_at_obj(obj, "stringData"), "stringData");
	size_t total = 0;
	cJSON_ArrayForEach(it, data)
	{
		size_t n = 0;
		if (!cJSON_IsString(it))
			continue;
		unsigned char *raw = reg_base64_decode(it->valuestring, &n);
		if (!raw) {
			size_t m = reg_vkey(&v, "data");
			reg_vmap(&v, it->string);
			reg_vinvalid(&v, NULL, it, "must be base64-encoded");
			reg_vpop(&v, m);
		}
		free(raw);
		total += n;
	}
	if (total > MAX_DATA_BYTES)
		reg_vtoolong(&v, "data", MAX_DATA_BYTES);
	const char *type = reg_vstr(&v, obj, "type");
	if (!type)
		type = "";
	if (!strcmp(type, "kubernetes.io/service-account-token")) {
		const char *sa = reg_get_str(reg_at(obj, "metadata.annotations"),
		                             "kubernetes.io/service-account.name");
		if (!sa || !*sa) {
			struct reg_vctx m;
			reg_vinit(&m, errs, "metadata.annotations");
			reg_vmap(&m, "kubernetes.io/service-account.name");
			reg_vreq(&m, NULL, NULL);
		}
	} else if (!strcmp(type, "kubernetes.io/dockercfg")) {
		secret_requires(&v, data, ".dockercfg");
	} else if (!strcmp(type, "kubernetes.io/dockerconfigjson")) {
		secret_requires(&v, data, ".dockerconfigjson");
	} else if (!strcmp(type, "kubernetes.io/basic-auth")) {
		if (!reg_get(data, "username") && !reg_get(data, "password")) {
			secret_requires(&v, data, "username");
			secret_requires(&v, data, "password");
		}
	} else if (!strcmp(type, "kubernetes.io/ssh-auth")) {
		secret_requires(&v, data, "ssh-privatekey");
	} else if (!strcmp(type, "kubernetes.io/tls")) {
		secret_requires(&v, data, "tls.crt");
		secret_requires(&v, data, "tls.key");
	} else if (*type) {
		reg_vqualified(&v, "type", type);
	}
	if (old)
		reg_vimmutable(&v, obj, old, "type");
	static const char *const keys[] = { "data", NULL };
	validate_immutable_data(&v, obj, old, keys);
}

static const struct reg_column secret_columns[] = {
	{ "Name", "string", "name", "Name of the secret.", 0 },
	{ "Type", "string", "", "Type of the secret, which decides the keys it must hold.", 0 },
	{ "Data", "string", "", "Number of keys in data.", 0 },
	{ "Age", "string", "", "Time since the secret was created.", 0 },
};

static void secret_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, reg_at_strz(obj, "type"));
	reg_cell_int(cells, reg_count(reg_at_obj(obj, "data")));
	reg_cell_age(cells, obj, now);
}

static bool secret_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (!strcmp(field, "type"))
		return reg_field_out(out, outlen, reg_at_str(obj, "type"));
	return false;
}

const struct reg_kind reg_kind_secrets = {
	.group = "",
	.version = "v1",
	.resource = "secrets",
	.kind = "Secret",
	.list_kind = "SecretList",
	.singular = "secret",
	.short_names = "",
	.categories = "",
	.namespaced = true,
	.storage = "core/secrets",
	.defaults = secret_defaults,
	.validate = secret_validate,
	.columns = secret_columns,
	.ncolumns = ARRAY_SIZE(secret_columns),
	.row = secret_row,
	.field = secret_field,
};

/* --- serviceaccounts ------------------------------------------------------------------------ */

static void sa_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	static const char *const lists[] = { "secrets", "imagePullSecrets" };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		const cJSON *arr = reg_varr(&v, obj, lists[l]), *it;
		int i = 0;
		cJSON_ArrayForEach(it, arr)
		{
			size_t m = reg_vkey(&v, lists[l]);
			reg_vidx(&v, i++);
			if (!cJSON_IsObject(it))
				reg_vinvalid(&v, NULL, it, "must be an object");
			else
				reg_vstr(&v, it, "name");
			reg_vpop(&v, m);
		}
	}
	reg_vbool(&v, obj, "automountServiceAccountToken");
	UNUSED(old);
}

static const struct reg_column sa_columns[] = {
	{ "Name", "string", "name", "Name of the service account.", 0 },
	{ "Secrets", "string", "", "Number of secrets the service account lists.", 0 },
	{ "Age", "string", "", "Time since the service account was created.", 0 },
};

static void sa_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_int(cells, reg_count(reg_at_arr(obj, "secrets")));
	reg_cell_age(cells, obj, now);
}

const struct reg_kind reg_kind_serviceaccounts = {
	.group = "",
	.version = "v1",
	.resource = "serviceaccounts",
	.kind = "ServiceAccount",
	.list_kind = "ServiceAccountList",
	.singular = "serviceaccount",
	.short_names = "sa",
	.categories = "",
	.namespaced = true,
	.storage = "core/serviceaccounts",
	.validate = sa_validate,
	.columns = sa_columns,
	.ncolumns = ARRAY_SIZE(sa_columns),
	.row = sa_row,
};

/* --- resourcequotas ------------------------------------------------------------------------- */

static void quota_defaults(cJSON *obj)
{
	reg_resource_list_defaults(reg_obj(reg_obj(obj, "spec", false), "hard", false));
	cJSON *st = reg_obj(obj, "status", false);
	reg_resource_list_defaults(reg_obj(st, "hard", false));
	reg_resource_list_defaults(reg_obj(st, "used", false));
}

static void quota_prepare_create(cJSON *obj)
{
	reg_reset_status(obj);
}

static void quota_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const scopes[] = { "Terminating",
		                              "NotTerminating",
		                              "BestEffort",
		                              "NotBestEffort",
		                              "PriorityClass",
		                              "CrossNamespacePodAffinity",
		                              NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	reg_vkey(&v, "spec");
	reg_vresource_list(&v, spec, "hard");
	const cJSON *sc = reg_varr(&v, spec, "scopes"), *it;
	int i = 0;
	cJSON_ArrayForEach(it, sc)
	{
		size_t m = reg_vkey(&v, "scopes");
		reg_vidx(&v, i++);
		if (!cJSON_IsString(it))
			reg_vinvalid(&v, NULL, it, "must be a string");
		else {
			bool ok = false;
			for (int k = 0; scopes[k]; k++)
				ok |= !strcmp(scopes[k], it->valuestring);
			if (!ok)
				reg_vunsupported(&v, NULL, it->valuestring, scopes);
		}
		reg_vpop(&v, m);
	}
	reg_vobj(&v, spec, "scopeSelector");
	UNUSED(old);
}

static void quota_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *st = reg_vobj(&v, obj, "status");
	reg_vkey(&v, "status");
	reg_vresource_list(&v, st, "hard");
	reg_vresource_list(&v, st, "used");
	UNUSED(old);
}

/* Columns as kubectl 1.32 shows them: AGE before REQUEST and LIMIT. */
static const struct reg_column quota_columns[] = {
	{ "Name", "string", "name", "Name of the resource quota.", 0 },
	{ "Age", "string", "", "Time since the resource quota was created.", 0 },
	{ "Request", "string", "", "Used out of hard limits, for everything but limits.*.", 0 },
	{ "Limit", "string", "", "Used out of hard limits, for limits.* resources.", 0 },
};

static void quota_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *hard = reg_at_obj(obj, "status.hard"), *used = reg_at_obj(obj, "status.used");
	int n = reg_count(hard), k = 0;
	const char **names = xcalloc((size_t)n + 1, sizeof(*names));
	const cJSON *it;
	cJSON_ArrayForEach(it, hard)
	{
		names[k++] = it->string;
	}
	qsort(names, (size_t)k, sizeof(*names), cmp_str);
	struct buf req = { 0 }, lim = { 0 };
	for (int i = 0; i < k; i++) {
		struct qty q;
		char u[QTY_STR_MAX] = "0", h[QTY_STR_MAX] = "0";
		if (reg_qty(reg_get(used, names[i]), &q))
			qty_format(&q, u);
		if (reg_qty(reg_get(hard, names[i]), &q))
			qty_format(&q, h);
		struct buf *b = str_has_prefix(names[i], "limits.") ? &lim : &req;
		buf_printf(b, "%s%s: %s/%s", b->len ? ", " : "", names[i], u, h);
	}
	free(names);
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_age(cells, obj, now);
	reg_cell_buf(cells, &req);
	reg_cell_buf(cells, &lim);
}

const struct reg_kind reg_kind_resourcequotas = {
	.group = "",
	.version = "v1",
	.resource = "resourcequotas",
	.kind = "ResourceQuota",
	.list_kind = "ResourceQuotaList",
	.singular = "resourcequota",
	.short_names = "quota",
	.categories = "",
	.namespaced = true,
	.subresources = REG_SUB_STATUS,
	.storage = "core/resourcequotas",
	.defaults = quota_defaults,
	.prepare_create = quota_prepare_create,
	.validate = quota_validate,
	.validate_status = quota_validate_status,
	.columns = quota_columns,
	.ncolumns = ARRAY_SIZE(quota_columns),
	.row = quota_row,
};

/* --- limitranges ---------------------------------------------------------------------------- */

static void copy_missing(cJSON *dst, const cJSON *src)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, (cJSON_IsObject(src) ? src : NULL))
	{
		if (!reg_get(dst, it->string))
			reg_set(dst, it->string, cJSON_Duplicate(it, true));
	}
}

static void limitrange_defaults(cJSON *obj)
{
	static const char *const lists[] = { "max", "min", "default", "defaultRequest",
		                             "maxLimitRequestRatio" };
	cJSON *item;
	const cJSON *limits = reg_at_arr(obj, "spec.limits");
	cJSON_ArrayForEach(item, (cJSON *)limits)
	{
		if (!cJSON_IsObject(item))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
			reg_resource_list_defaults(reg_obj(item, lists[i], false));
		if (strcmp(reg_at_strz(item, "type"), "Container") != 0)
			continue;
		/* Containers: default limit from max, default request from the default limit,
		 * else from min. */
		cJSON *def = reg_obj(item, "default", true);
		cJSON *defreq = reg_obj(item, "defaultRequest", true);
		if (!def || !defreq)
			continue;
		copy_missing(def, reg_get(item, "max"));
		copy_missing(defreq, def);
		copy_missing(defreq, reg_get(item, "min"));
	}
}

static void limitrange_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const types[] = { "Pod", "Container", "PersistentVolumeClaim", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	reg_vkey(&v, "spec");
	const cJSON *limits = reg_varr(&v, spec, "limits"), *item;
	int i = 0;
	cJSON_ArrayForEach(item, limits)
	{
		size_t m = reg_vkey(&v, "limits");
		reg_vidx(&v, i++);
		const char *type = reg_venum(&v, item, "type", true, types);
		static const char *const lists[] = { "max", "min", "default", "defaultRequest",
			                             "maxLimitRequestRatio" };
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
			reg_vresource_list(&v, item, lists[l]);
		if (type && strcmp(type, "Container") != 0) {
			if (reg_count(reg_get(item, "default")))
				reg_vforbidden(&v, "default",
				               "may not be specified when `type` is '%s'", type);
			if (reg_count(reg_get(item, "defaultRequest")))
				reg_vforbidden(&v, "defaultRequest",
				               "may not be specified when `type` is '%s'", type);
		}
		const cJSON *mn;
		cJSON_ArrayForEach(mn, reg_at_obj(item, "min"))
		{
			struct qty a, b;
			const cJSON *mx = reg_get(reg_at_obj(item, "max"), mn->string);
			if (!mx || !reg_qty(mn, &a) || !reg_qty(mx, &b) || qty_cmp(&a, &b) <= 0)
				continue;
			char ta[QTY_STR_MAX], tb[QTY_STR_MAX];
			qty_format(&a, ta);
			qty_format(&b, tb);
			size_t m2 = reg_vkey(&v, "min");
			reg_vmap(&v, mn->string);
			reg_vinvalid_str(&v, NULL, ta, "min value %s is greater than max value %s",
			                 ta, tb);
			reg_vpop(&v, m2);
		}
		reg_vpop(&v, m);
	}
	UNUSED(old);
}

const struct reg_kind reg_kind_limitranges = {
	.group = "",
	.version = "v1",
	.resource = "limitranges",
	.kind = "LimitRange",
	.list_kind = "LimitRangeList",
	.singular = "limitrange",
	.short_names = "limits",
	.categories = "",
	.namespaced = true,
	.storage = "core/limitranges",
	.defaults = limitrange_defaults,
	.validate = limitrange_validate,
	.columns = reg_default_columns,
	.ncolumns = ARRAY_SIZE(reg_default_columns),
	.row = reg_default_row,
};

/* --- persistentvolumeclaims ----------------------------------------------------------------- */

static const char *const access_modes[] = { "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
	                                    "ReadWriteOncePod", NULL };

static void pvc_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	reg_def_str(spec, "volumeMode", "Filesystem");
	cJSON *res = reg_obj(spec, "resources", false);
	reg_resource_list_defaults(reg_obj(res, "requests", false));
	reg_resource_list_defaults(reg_obj(res, "limits", false));
	cJSON *st = reg_obj(obj, "status", true);
	reg_def_str(st, "phase", "Pending");
	reg_resource_list_defaults(reg_obj(st, "capacity", false));
}

static void pvc_prepare_create(cJSON *obj)
{
	cJSON *st = reg_reset_status(obj);
	cJSON_AddStringToObject(st, "phase", "Pending");
}

static void pvc_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const modes[] = { "Block", "Filesystem", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	reg_vkey(&v, "spec");
	const cJSON *am = reg_varr(&v, spec, "accessModes"), *it;
	if (reg_count(am) == 0 && (!reg_get(spec, "accessModes") || am))
		reg_vreq(&v, "accessModes", "at least 1 access mode is required");
	int i = 0;
	cJSON_ArrayForEach(it, am)
	{
		size_t m = reg_vkey(&v, "accessModes");
		reg_vidx(&v, i++);
		bool ok = false;
		for (int k = 0; cJSON_IsString(it) && access_modes[k]; k++)
			ok |= !strcmp(access_modes[k], it->valuestring);
		if (!ok)
			reg_vunsupported(&v, NULL, cJSON_IsString(it) ? it->valuestring : "",
			                 access_modes);
		reg_vpop(&v, m);
	}
	const cJSON *res = reg_vobj(&v, spec, "resources");
	size_t m = reg_vkey(&v, "resources");
	reg_vresource_list(&v, res, "requests");
	reg_vresource_list(&v, res, "limits");
	reg_vpop(&v, m);
	const cJSON *storage = reg_get(reg_at_obj(res, "requests"), "storage");
	struct qty q;
	if (!storage) {
		/* upstream names it spec.resources[storage] */
		struct reg_vctx f;
		reg_vinit(&f, errs, "spec.resources");
		reg_vmap(&f, "storage");
		reg_vreq(&f, NULL, NULL);
	} else if (reg_qty(storage, &q) && (q.neg || qty_is_zero(&q))) {
		char t[QTY_STR_MAX];
		qty_format(&q, t);
		size_t m2 = reg_vkey(&v, "resources.requests");
		reg_vmap(&v, "storage");
		reg_vinvalid_str(&v, NULL, t, "must be greater than zero");
		reg_vpop(&v, m2);
	}
	reg_venum(&v, spec, "volumeMode", false, modes);
	reg_vselector(&v, spec, "selector");
	reg_vstr(&v, spec, "storageClassName");
	reg_vstr(&v, spec, "volumeName");
	const cJSON *ospec = reg_at_obj(old, "spec");
	if (old && ospec) {
		/* Only a bound claim's storage request (expansion) and attributes class may
		 * change, and a volume name may be filled in by the binder. */
		cJSON *a = cJSON_Duplicate(spec, true), *b = cJSON_Duplicate(ospec, true);
		if (!strcmp(reg_at_strz(obj, "status.phase"), "Bound")) {
			cJSON *areq = reg_obj(reg_obj(a, "resources", false), "requests", false);
			cJSON *breq = reg_obj(reg_obj(b, "resources", false), "requests", false);
			cJSON_DeleteItemFromObjectCaseSensitive(areq, "storage");
			cJSON_DeleteItemFromObjectCaseSensitive(breq, "storage");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(a, "volumeAttributesClassName");
		cJSON_DeleteItemFromObjectCaseSensitive(b, "volumeAttributesClassName");
		if (!*reg_at_strz(ospec, "volumeName")) {
			cJSON_DeleteItemFromObjectCaseSensitive(a, "volumeName");
			cJSON_DeleteItemFromObjectCaseSensitive(b, "volumeName");
		}
		if (!reg_json_equal(a, b))
			reg_vforbidden(&v, NULL,
			               "spec is immutable after creation except resources.requests "
			               "and volumeAttributesClassName for bound claims");
		cJSON_Delete(a);
		cJSON_Delete(b);
		struct qty now, was;
		if (reg_qty(storage, &now) &&
		    reg_qty(reg_at(ospec, "resources.requests.storage"), &was) &&
		    qty_cmp(&now, &was) < 0)
			reg_vforbidden(&v, "resources.requests.storage",
			               "field can not be less than previous value");
	}
}

static void pvc_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const phases[] = { "Pending", "Bound", "Lost", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *st = reg_vobj(&v, obj, "status");
	reg_vkey(&v, "status");
	reg_venum(&v, st, "phase", false, phases);
	reg_vresource_list(&v, st, "capacity");
	reg_varr(&v, st, "accessModes");
	UNUSED(old);
}

static const struct reg_column pvc_columns[] = {
	{ "Name", "string", "name", "Name of the claim.", 0 },
	{ "Status", "string", "", "Phase of the claim: Pending, Bound or Lost.", 0 },
	{ "Volume", "string", "", "Persistent volume the claim is bound to.", 0 },
	{ "Capacity", "string", "", "Storage the bound volume provides.", 0 },
	{ "Access Modes", "string", "", "Access modes of the bound volume.", 0 },
	{ "StorageClass", "string", "", "Storage class the claim asks for.", 0 },
	{ "VolumeAttributesClass", "string", "", "Volume attributes class of the claim.", 0 },
	{ "Age", "string", "", "Time since the claim was created.", 0 },
	{ "VolumeMode", "string", "", "Whether the volume is a filesystem or a block device.", 1 },
};

static void pvc_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const char *phase = reg_at_strz(obj, "status.phase");
	if (reg_at(obj, "metadata.deletionTimestamp"))
		phase = "Terminating";
	const char *volume = reg_at_strz(obj, "spec.volumeName");
	char capacity[QTY_STR_MAX] = "";
	struct buf modes = { 0 };
	if (*volume) {
		struct qty q;
		if (reg_qty(reg_at(obj, "status.capacity.storage"), &q))
			qty_format(&q, capacity);
		else
			snprintf(capacity, sizeof(capacity), "0");
		static const char *const abbr[] = { "ReadWriteOnce",    "RWO",
			                            "ReadOnlyMany",     "ROX",
			                            "ReadWriteMany",    "RWX",
			                            "ReadWriteOncePod", "RWOP" };
		for (size_t i = 0; i < ARRAY_SIZE(abbr); i += 2) {
			const cJSON *it;
			cJSON_ArrayForEach(it, reg_at_arr(obj, "status.accessModes"))
			{
				if (cJSON_IsString(it) && !strcmp(it->valuestring, abbr[i])) {
					buf_printf(&modes, "%s%s", modes.len ? "," : "",
					           abbr[i + 1]);
					break;
				}
			}
		}
	}
	const cJSON *ann = reg_at_obj(obj, "metadata.annotations");
	const char *cls = reg_get_str(ann, "volume.beta.kubernetes.io/storage-class");
	if (!cJSON_IsString(reg_get(ann, "volume.beta.kubernetes.io/storage-class")))
		cls = reg_at_strz(obj, "spec.storageClassName");
	const char *vac = reg_at_str(obj, "spec.volumeAttributesClassName");
	const char *mode = reg_at_str(obj, "spec.volumeMode");
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, phase);
	reg_cell_str(cells, volume);
	reg_cell_str(cells, capacity);
	reg_cell_buf(cells, &modes);
	reg_cell_str(cells, cls);
	reg_cell_str(cells, vac ? vac : "<unset>");
	reg_cell_age(cells, obj, now);
	reg_cell_str(cells, mode ? mode : "<unset>");
}

const struct reg_kind reg_kind_persistentvolumeclaims = {
	.group = "",
	.version = "v1",
	.resource = "persistentvolumeclaims",
	.kind = "PersistentVolumeClaim",
	.list_kind = "PersistentVolumeClaimList",
	.singular = "persistentvolumeclaim",
	.short_names = "pvc",
	.categories = "",
	.namespaced = true,
	.subresources = REG_SUB_STATUS,
	.storage = "core/persistentvolumeclaims",
	.defaults = pvc_defaults,
	.prepare_create = pvc_prepare_create,
	.validate = pvc_validate,
	.validate_status = pvc_validate_status,
	.columns = pvc_columns,
	.ncolumns = ARRAY_SIZE(pvc_columns),
	.row = pvc_row,
};
