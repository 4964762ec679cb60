/* rbac: strategies of roles, clusterroles, rolebindings and clusterrolebindings (stored now,
 * enforced later by core/auth). */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

#define RBAC_GROUP "rbac.authorization.k8s.io"

/* RBAC names are path segments: "system:controller:x" is a valid role name. */
static void rbac_validate_name(const char *name, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, "metadata");
	const char *e = reg_check_path_segment(name);
	if (e)
		reg_vinvalid_str(&v, "name", name, "%s", e);
}

static int count_member(const cJSON *o, const char *key)
{
	return reg_count(reg_get(o, key));
}

static void validate_rules(struct reg_vctx *v, const cJSON *obj, bool namespaced)
{
	const cJSON *rules = reg_varr(v, obj, "rules"), *r;
	int i = 0;
	cJSON_ArrayForEach(r, rules)
	{
		size_t m = reg_vkey(v, "rules");
		reg_vidx(v, i++);
		if (!cJSON_IsObject(r)) {
			reg_vinvalid(v, NULL, r, "must be an object");
			reg_vpop(v, m);
			continue;
		}
		static const char *const lists[] = { "verbs", "apiGroups", "resources",
			                             "resourceNames", "nonResourceURLs" };
		for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
			reg_vstrlist(v, r, lists[l]);
		if (count_member(r, "verbs") == 0)
			reg_vreq(v, "verbs", "verbs must contain at least one value");
		if (count_member(r, "nonResourceURLs") > 0) {
			const cJSON *urls = reg_get(r, "nonResourceURLs");
			if (namespaced)
				reg_vinvalid(v, "nonResourceURLs", urls,
				             "namespaced rules cannot apply to non-resource URLs");
			if (count_member(r, "apiGroups") || count_member(r, "resources") ||
			    count_member(r, "resourceNames"))
				reg_vinvalid(v, "nonResourceURLs", urls,
				             "rules cannot apply to both regular resources and "
				             "non-resource URLs");
		} else {
			if (count_member(r, "apiGroups") == 0)
				reg_vreq(v, "apiGroups",
				         "resource rules must supply at least one api group");
			if (count_member(r, "resources") == 0)
				reg_vreq(v, "resources",
				         "resource rules must supply at least one resource");
		}
		reg_vpop(v, m);
	}
}

static void role_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	validate_rules(&v, obj, true);
	UNUSED(old);
}

static void clusterrole_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	validate_rules(&v, obj, false);
	const cJSON *agg = reg_vobj(&v, obj, "aggregationRule");
	if (agg) {
		size_t m = reg_vkey(&v, "aggregationRule");
		const cJSON *sels = reg_varr(&v, agg, "clusterRoleSelectors"), *s;
		if (reg_count(sels) == 0)
			reg_vreq(&v, "clusterRoleSelectors",
			         "at least one clusterRoleSelector required if aggregationRule is "
			         "non-nil");
		int i = 0;
		cJSON_ArrayForEach(s, sels)
		{
			size_t m2 = reg_vkey(&v, "clusterRoleSelectors");
			reg_vidx(&v, i++);
			reg_vselector_obj(&v, s);
			reg_vpop(&v, m2);
		}
		reg_vpop(&v, m);
	}
	UNUSED(old);
}

static void binding_defaults(cJSON *obj)
{
	reg_def_str(reg_obj(obj, "roleRef", false), "apiGroup", RBAC_GROUP);
	cJSON *s;
	const cJSON *subjects = reg_get(obj, "subjects");
	cJSON_ArrayForEach(s, (cJSON_IsArray(subjects) ? (cJSON *)subjects : NULL))
	{
		const char *kind = reg_at_strz(s, "kind");
		if (!strcmp(kind, "User") || !strcmp(kind, "Group"))
			reg_def_str(s, "apiGroup", RBAC_GROUP);
	}
}

static void validate_binding(const cJSON *obj, const cJSON *old, struct reg_errors *errs,
                             bool namespaced)
{
	static const char *const group[] = { RBAC_GROUP, NULL };
	static const char *const ns_kinds[] = { "Role", "ClusterRole", NULL };
	static const char *const cluster_kinds[] = { "ClusterRole", NULL };
	static const char *const subject_kinds[] = { "ServiceAccount", "User", "Group", NULL };
	static const char *const empty[] = { "", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *ref = reg_vobj(&v, obj, "roleRef");
	size_t m = reg_vkey(&v, "roleRef");
	const char *g = reg_vstr(&v, ref, "apiGroup");
	if (!g || strcmp(g, RBAC_GROUP) != 0)
		reg_vunsupported(&v, "apiGroup", g ? g : "", group);
	const char *kind = reg_vstr(&v, ref, "kind");
	const char *const *kinds = namespaced ? ns_kinds : cluster_kinds;
	bool kind_ok = false;
	for (int i = 0; kind && kinds[i]; i++)
		kind_ok |= !strcmp(kind, kinds[i]);
	if (!kind_ok)
		reg_vunsupported(&v, "kind", kind ? kind : "", kinds);
	const char *name = reg_vstr_req(&v, ref, "name");
	if (name && reg_check_path_segment(name))
		reg_vinvalid_str(&v, "name", name, "%s", reg_check_path_segment(name));
	reg_vpop(&v, m);

	const cJSON *subjects = reg_varr(&v, obj, "subjects"), *s;
	int i = 0;
	cJSON_ArrayForEach(s, subjects)
	{
		size_t m2 = reg_vkey(&v, "subjects");
		reg_vidx(&v, i++);
		if (!cJSON_IsObject(s)) {
			reg_vinvalid(&v, NULL, s, "must be an object");
			reg_vpop(&v, m2);
			continue;
		}
		const char *sn = reg_vstr_req(&v, s, "name");
		const char *sk = reg_vstr(&v, s, "kind");
		const char *sg = reg_vstr(&v, s, "apiGroup");
		const char *sns = reg_vstr(&v, s, "namespace");
		if (sk && !strcmp(sk, "ServiceAccount")) {
			if (sn && *sn)
				reg_vdns_subdomain(&v, "name", sn);
			if (sg && *sg)
				reg_vunsupported(&v, "apiGroup", sg, empty);
			if (!namespaced && (!sns || !*sns))
				reg_vreq(&v, "namespace", NULL);
		} else if (sk && (!strcmp(sk, "User") || !strcmp(sk, "Group"))) {
			if (!sg || strcmp(sg, RBAC_GROUP) != 0)
				reg_vunsupported(&v, "apiGroup", sg ? sg : "", group);
		} else {
			reg_vunsupported(&v, "kind", sk ? sk : "", subject_kinds);
		}
		reg_vpop(&v, m2);
	}
	if (old && !reg_json_equal(reg_get(obj, "roleRef"), reg_get(old, "roleRef")))
		reg_vinvalid(&v, "roleRef", reg_get(obj, "roleRef"), "cannot change roleRef");
}

static void rolebinding_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	validate_binding(obj, old, errs, true);
}

static void clusterrolebinding_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	validate_binding(obj, old, errs, false);
}

static const struct reg_column binding_columns[] = {
	{ "Name", "string", "name", "Name of the binding.", 0 },
	{ "Role", "string", "", "The role granted, as Kind/name.", 0 },
	{ "Age", "string", "", "Time since the binding was created.", 0 },
	{ "Users", "string", "", "Users the binding grants the role to.", 1 },
	{ "Groups", "string", "", "Groups the binding grants the role to.", 1 },
	{ "ServiceAccounts", "string", "", "Service accounts (namespace/name) granted the role.",
	  1 },
};

static void binding_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	struct buf users = { 0 }, groups = { 0 }, sas = { 0 };
	const cJSON *s;
	cJSON_ArrayForEach(s, reg_at_arr(obj, "subjects"))
	{
		const char *kind = reg_at_strz(s, "kind"), *name = reg_at_strz(s, "name");
		if (!strcmp(kind, "ServiceAccount"))
			buf_printf(&sas, "%s%s/%s", sas.len ? ", " : "",
			           reg_at_strz(s, "namespace"), name);
		else if (!strcmp(kind, "User"))
			buf_printf(&users, "%s%s", users.len ? ", " : "", name);
		else if (!strcmp(kind, "Group"))
			buf_printf(&groups, "%s%s", groups.len ? ", " : "", name);
	}
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_fmt(cells, "%s/%s", reg_at_strz(obj, "roleRef.kind"),
	             reg_at_strz(obj, "roleRef.name"));
	reg_cell_age(cells, obj, now);
	reg_cell_buf(cells, &users);
	reg_cell_buf(cells, &groups);
	reg_cell_buf(cells, &sas);
}

const struct reg_kind reg_kind_roles = {
	.group = RBAC_GROUP,
	.version = "v1",
	.resource = "roles",
	.kind = "Role",
	.list_kind = "RoleList",
	.singular = "role",
	.short_names = "",
	.categories = "",
	.namespaced = true,
	.storage = RBAC_GROUP "/roles",
	.validate = role_validate,
	.validate_name = rbac_validate_name,
	.columns = reg_default_columns,
	.ncolumns = ARRAY_SIZE(reg_default_columns),
	.row = reg_default_row,
};

const struct reg_kind reg_kind_clusterroles = {
	.group = RBAC_GROUP,
	.version = "v1",
	.resource = "clusterroles",
	.kind = "ClusterRole",
	.list_kind = "ClusterRoleList",
	.singular = "clusterrole",
	.short_names = "",
	.categories = "",
	.namespaced = false,
	.storage = RBAC_GROUP "/clusterroles",
	.validate = clusterrole_validate,
	.validate_name = rbac_validate_name,
	.columns = reg_default_columns,
	.ncolumns = ARRAY_SIZE(reg_default_columns),
	.row = reg_default_row,
};

const struct reg_kind reg_kind_rolebindings = {
	.group = RBAC_GROUP,
	.version = "v1",
	.resource = "rolebindings",
	.kind = "RoleBinding",
	.list_kind = "RoleBindingList",
	.singular = "rolebinding",
	.short_names = "",
	.categories = "",
	.namespaced = true,
	.storage = RBAC_GROUP "/rolebindings",
	.defaults = binding_defaults,
	.validate = rolebinding_validate,
	.validate_name = rbac_validate_name,
	.columns = binding_columns,
	.ncolumns = ARRAY_SIZE(binding_columns),
	.row = binding_row,
};

const struct reg_kind reg_kind_clusterrolebindings = {
	.group = RBAC_GROUP,
	.version = "v1",
	.resource = "clusterrolebindings",
	.kind = "ClusterRoleBinding",
	.list_kind = "ClusterRoleBindingList",
	.singular = "clusterrolebinding",
	.short_names = "",
	.categories = "",
	.namespaced = false,
	.storage = RBAC_GROUP "/clusterrolebindings",
	.defaults = binding_defaults,
	.validate = clusterrolebinding_validate,
	.validate_name = rbac_validate_name,
	.columns = binding_columns,
	.ncolumns = ARRAY_SIZE(binding_columns),
	.row = binding_row,
};
