/* discovery: /api, /apis, their group and version documents, the aggregated discovery that
 * kubectl 1.27+ asks for first, and /version. All generated from the registry's table. */
#include <stdio.h>
#include <string.h>

#include "core/api/rest-internal.h"

static const char *const verbs_all[] = { "create", "delete", "deletecollection", "get",
	                                 "list",   "patch",  "update",           "watch" };

struct sub_desc {
	unsigned flag;
	const char *name;
	const char *const *verbs;
	size_t nverbs;
	const char *group, *version, *kind; /* response kind; NULL: the parent's */
};

static const char *const v_gpu[] = { "get", "patch", "update" };
static const char *const v_create[] = { "create" };
static const char *const v_get[] = { "get" };
static const char *const v_cg[] = { "create", "get" };
static const char *const v_proxy[] = {
	"create", "delete", "get", "head", "options", "patch", "put"
};

static const struct sub_desc subs[] = {
	{ REG_SUB_STATUS, "status", v_gpu, 3, NULL, NULL, NULL },
	{ REG_SUB_SCALE, "scale", v_gpu, 3, "autoscaling", "v1", "Scale" },
	{ REG_SUB_BINDING, "binding", v_create, 1, "", "v1", "Binding" },
	{ REG_SUB_EVICTION, "eviction", v_create, 1, "policy", "v1", "Eviction" },
	{ REG_SUB_LOG, "log", v_get, 1, "", "v1", "Pod" },
	{ REG_SUB_EXEC, "exec", v_cg, 2, "", "v1", "PodExecOptions" },
	{ REG_SUB_EXEC, "attach", v_cg, 2, "", "v1", "PodAttachOptions" },
	{ REG_SUB_EXEC, "portforward", v_cg, 2, "", "v1", "PodPortForwardOptions" },
	{ REG_SUB_APPROVAL, "approval", v_gpu, 3, NULL, NULL, NULL },
	{ REG_SUB_PROXY, "proxy", v_proxy, 7, "", "v1", NULL },
};

static cJSON *str_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* "a,b" into ["a","b"] (nothing for ""). */
static cJSON *csv_array(const char *csv)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = csv;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char *s = xstrndup(p, n);
		cJSON_AddItemToArray(a, cJSON_CreateString(s));
		free(s);
		p = c ? c + 1 : NULL;
	}
	return a;
}

bool rest_same_gv(const struct reg_kind *k, const char *group, const char *version)
{
	return !strcmp(k->group, group) && !strcmp(k->version, version);
}

/* Distinct groups in table order; core ("") first when present. */
static size_t groups(const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < reg_nkinds; i++) {
		bool seen = false;
		for (size_t j = 0; j < n; j++)
			seen |= !strcmp(out[j], reg_kinds[i]->group);
		if (!seen && n < max)
			out[n++] = reg_kinds[i]->group;
	}
	return n;
}

cJSON *rest_api_versions(const char *server_addr)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "APIVersions");
	const char *v[] = { "v1" };
	cJSON_AddItemToObject(o, "versions", str_array(v, 1));
	cJSON *a = cJSON_AddArrayToObject(o, "serverAddressByClientCIDRs");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "clientCIDR", "0.0.0.0/0");
	cJSON_AddStringToObject(e, "serverAddress", server_addr);
	cJSON_AddItemToArray(a, e);
	return o;
}

static cJSON *group_doc(const char *g)
{
	cJSON *grp = cJSON_CreateObject();
	char gv[128];
	cJSON_AddStringToObject(grp, "name", g);
	cJSON *vs = cJSON_AddArrayToObject(grp, "versions");
	snprintf(gv, sizeof(gv), "%s/v1", g);
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "groupVersion", gv);
	cJSON_AddStringToObject(v, "version", "v1");
	cJSON_AddItemToArray(vs, v);
	cJSON_AddItemToObject(grp, "preferredVersion", cJSON_Duplicate(v, true));
	return grp;
}

cJSON *rest_api_group_list(void)
{
	const char *gs[32];
	size_t n = groups(gs, 32);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "APIGroupList");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON *a = cJSON_AddArrayToObject(o, "groups");
	for (size_t i = 0; i < n; i++)
		if (gs[i][0])
			cJSON_AddItemToArray(a, group_doc(gs[i]));
	return o;
}

cJSON *rest_api_group(const char *group)
{
	for (size_t i = 0; i < reg_nkinds; i++)
		if (group[0] && !strcmp(reg_kinds[i]->group, group)) {
			cJSON *g = group_doc(group);
			cJSON_AddStringToObject(g, "kind", "APIGroup");
			cJSON_AddStringToObject(g, "apiVersion", "v1");
			return g;
		}
	return NULL;
}

cJSON *rest_resource_list(const char *group, const char *version)
{
	cJSON *o = cJSON_CreateObject();
	char gv[128];
	bool any = false;
	if (group[0])
		snprintf(gv, sizeof(gv), "%s/%s", group, version);
	else
		snprintf(gv, sizeof(gv), "%s", version);
	cJSON_AddStringToObject(o, "kind", "APIResourceList");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "groupVersion", gv);
	cJSON *rs = cJSON_AddArrayToObject(o, "resources");
	for (size_t i = 0; i < reg_nkinds; i++) {
		const struct reg_kind *k = reg_kinds[i];
		if (!rest_same_gv(k, group, version))
			continue;
		any = true;
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "name", k->resource);
		cJSON_AddStringToObject(r, "singularName", k->singular);
		cJSON_AddBoolToObject(r, "namespaced", k->namespaced);
		cJSON_AddStringToObject(r, "kind", k->kind);
		cJSON_AddItemToObject(r, "verbs", str_array(verbs_all, ARRAY_SIZE(verbs_all)));
		if (k->short_names[0])
			cJSON_AddItemToObject(r, "shortNames", csv_array(k->short_names));
		if (k->categories[0])
			cJSON_AddItemToObject(r, "categories", csv_array(k->categories));
		cJSON_AddItemToArray(rs, r);
		for (size_t s = 0; s < ARRAY_SIZE(subs); s++) {
			if (!(k->subresources & subs[s].flag))
				continue;
			char name[128];
			snprintf(name, sizeof(name), "%s/%s", k->resource, subs[s].name);
			cJSON *sr = cJSON_CreateObject();
			cJSON_AddStringToObject(sr, "name", name);
			cJSON_AddStringToObject(sr, "singularName", "");
			cJSON_AddBoolToObject(sr, "namespaced", k->namespaced);
			if (subs[s].group && subs[s].group[0])
				cJSON_AddStringToObject(sr, "group", subs[s].group);
			if (subs[s].version)
				cJSON_AddStringToObject(sr, "version", subs[s].version);
			cJSON_AddStringToObject(sr, "kind", subs[s].kind ? subs[s].kind : k->kind);
			cJSON_AddItemToObject(sr, "verbs",
			                      str_array(subs[s].verbs, subs[s].nverbs));
			cJSON_AddItemToArray(rs, sr);
		}
		if (!strcmp(k->resource, "namespaces") && !k->group[0]) {
			cJSON *sr = cJSON_CreateObject();
			cJSON_AddStringToObject(sr, "name", "namespaces/finalize");
			cJSON_AddStringToObject(sr, "singularName", "");
			cJSON_AddBoolToObject(sr, "namespaced", false);
			cJSON_AddStringToObject(sr, "kind", "Namespace");
			const char *const v[] = { "update" };
			cJSON_AddItemToObject(sr, "verbs", str_array(v, 1));
			cJSON_AddItemToArray(rs, sr);
		}
	}
	if (!any) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *response_kind(const char *g, const char *v, const char *k)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "group", g);
	cJSON_AddStringToObject(o, "version", v);
	cJSON_AddStringToObject(o, "kind", k);
	return o;
}

/* apidiscovery.k8s.io/v2 APIGroupDiscoveryList: for /api (core only) or /apis (the rest). */
cJSON *rest_aggregated(bool core, const char *api_version)
{
	const char *gs[32];
	size_t n = groups(gs, 32);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "APIGroupDiscoveryList");
	cJSON_AddStringToObject(o, "apiVersion", api_version);
	cJSON_AddObjectToObject(o, "metadata");
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	for (size_t gi = 0; gi < n; gi++) {
		if (core != !gs[gi][0])
			continue;
		cJSON *item = cJSON_CreateObject();
		cJSON *m = cJSON_AddObjectToObject(item, "metadata");
		if (gs[gi][0])
			cJSON_AddStringToObject(m, "name", gs[gi]);
		cJSON *vs = cJSON_AddArrayToObject(item, "versions");
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "version", "v1");
		cJSON *rs = cJSON_AddArrayToObject(v, "resources");
		for (size_t i = 0; i < reg_nkinds; i++) {
			const struct reg_kind *k = reg_kinds[i];
			if (strcmp(k->group, gs[gi]))
				continue;
			cJSON *r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "resource", k->resource);
			cJSON_AddItemToObject(r, "responseKind",
			                      response_kind(k->group, k->version, k->kind));
			cJSON_AddStringToObject(r, "scope",
			                        k->namespaced ? "Namespaced" : "Cluster");
			cJSON_AddStringToObject(r, "singularResource", k->singular);
			cJSON_AddItemToObject(r, "verbs",
			                      str_array(verbs_all, ARRAY_SIZE(verbs_all)));
			if (k->short_names[0])
				cJSON_AddItemToObject(r, "shortNames", csv_array(k->short_names));
			if (k->categories[0])
				cJSON_AddItemToObject(r, "categories", csv_array(k->categories));
			cJSON *ss = cJSON_CreateArray();
			for (size_t s = 0; s < ARRAY_SIZE(subs); s++) {
				if (!(k->subresources & subs[s].flag))
					continue;
				cJSON *sr = cJSON_CreateObject();
				cJSON_AddStringToObject(sr, "subresource", subs[s].name);
				if (subs[s].kind)
					cJSON_AddItemToObject(sr, "responseKind",
					                      response_kind(subs[s].group,
					                                    subs[s].version,
					                                    subs[s].kind));
				else
					cJSON_AddItemToObject(
					    sr, "responseKind",
					    response_kind(k->group, k->version, k->kind));
				cJSON_AddItemToObject(sr, "verbs",
				                      str_array(subs[s].verbs, subs[s].nverbs));
				cJSON_AddItemToArray(ss, sr);
			}
			if (cJSON_GetArraySize(ss))
				cJSON_AddItemToObject(r, "subresources", ss);
			else
				cJSON_Delete(ss);
			cJSON_AddItemToArray(rs, r);
		}
		cJSON_AddStringToObject(v, "freshness", "Current");
		cJSON_AddItemToArray(vs, v);
		cJSON_AddItemToArray(items, item);
	}
	return o;
}

cJSON *rest_version(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "major", "1");
	cJSON_AddStringToObject(o, "minor", "32");
	cJSON_AddStringToObject(o, "gitVersion", "v1.32.0+tug." TUG_VERSION);
	cJSON_AddStringToObject(o, "gitCommit", TUG_COMMIT);
	cJSON_AddStringToObject(o, "gitTreeState", "clean");
	cJSON_AddStringToObject(o, "buildDate", "1970-01-01T00:00:00Z");
	cJSON_AddStringToObject(o, "goVersion", "none (C11, gcc)");
	cJSON_AddStringToObject(o, "compiler", "gcc");
	cJSON_AddStringToObject(o, "platform",
#if defined(__aarch64__)
	                        "linux/arm64"
#elif defined(__arm__)
	                        "linux/arm"
#else
	                        "linux/amd64"
#endif
	);
	return o;
}
