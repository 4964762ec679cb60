/* apps: strategies of deployments, replicasets, statefulsets, daemonsets and controllerrevisions. */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

/* --- shared by the workloads ---------------------------------------------------------------- */

/* spec.selector is required and selects something; the template's labels must match it. */
static void validate_selector_template(struct reg_vctx *v, const cJSON *spec, const char *what,
                                       enum reg_podspec_use use)
{
	const cJSON *sel = reg_get(spec, "selector");
	if (!sel) {
		reg_vreq(v, "selector", NULL);
	} else {
		reg_vselector(v, spec, "selector");
		if (cJSON_IsObject(sel) && reg_selector_empty(sel))
			reg_vinvalid(v, "selector", sel, "empty selector is invalid for %s", what);
	}
	reg_template_validate(v, spec, "template", use);
	const cJSON *labels;
	char tmp[8];
	if (reg_template_labels(spec, &labels) && cJSON_IsObject(sel) && !reg_selector_empty(sel) &&
	    reg_selector_string(sel, tmp, sizeof(tmp)) == 0 && !reg_selector_matches(sel, labels))
		reg_vinvalid(v, "template.metadata.labels", labels,
		             "`selector` does not match template `labels`");
}

/* IntOrString that must be a non-negative integer or a percentage; returns its value, for the
 * "both zero" check, or -1 when absent or invalid. */
static int64_t int_or_percent(struct reg_vctx *v, const cJSON *o, const char *key, bool max100)
{
	const cJSON *it = reg_get(o, key);
	int64_t n;
	if (!it)
		return -1;
	if (cJSON_IsString(it)) {
		const char *s = it->valuestring;
		size_t len = strlen(s);
		uint64_t pct;
		char num[32];
		if (len < 2 || len > sizeof(num) || s[len - 1] != '%') {
			reg_vinvalid_str(v, key, s, "must be an integer or percentage (e.g '5%%')");
			return -1;
		}
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		if (!parse_u64(num, &pct)) {
			reg_vinvalid_str(v, key, s, "must be an integer or percentage (e.g '5%%')");
			return -1;
		}
		if (max100 && pct > 100)
			reg_vinvalid_str(v, key, s, "must not be greater than 100%%");
		return pct > INT64_MAX ? INT64_MAX : (int64_t)pct;
	}
	if (!reg_json_int(it, &n)) {
		reg_vinvalid(v, key, it, "must be an integer or percentage (e.g '5%%')");
		return -1;
	}
	if (n < 0)
		reg_vinvalid_int(v, key, n, "must be greater than or equal to 0");
	return n;
}

static void validate_rolling(struct reg_vctx *v, const cJSON *ru)
{
	int64_t mu = int_or_percent(v, ru, "maxUnavailable", true);
	int64_t ms = int_or_percent(v, ru, "maxSurge", false);
	if (mu == 0 && ms == 0)
		reg_vinvalid(v, "maxUnavailable", reg_get(ru, "maxUnavailable"),
		             "may not be 0 when `maxSurge` is 0");
}

/* Replica counts in status: non-negative, and ready/available never more than there are. */
static void validate_replica_status(const cJSON *obj, struct reg_errors *errs,
                                    const char *const *fields)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *st = reg_vobj(&v, obj, "status");
	reg_vkey(&v, "status");
	for (int i = 0; fields[i]; i++)
		reg_vnonneg(&v, st, fields[i], NULL);
	reg_vnonneg(&v, st, "observedGeneration", NULL);
	int64_t replicas = reg_at_int(st, "replicas", 0),
	        ready = reg_at_int(st, "readyReplicas", 0);
	int64_t avail = reg_at_int(st, "availableReplicas", 0);
	if (reg_get(st, "readyReplicas") && ready > replicas)
		reg_vinvalid_int(&v, "readyReplicas", ready,
		                 "cannot be greater than status.replicas");
	if (reg_get(st, "availableReplicas") && reg_get(st, "readyReplicas") && avail > ready)
		reg_vinvalid_int(&v, "availableReplicas", avail,
		                 "cannot be greater than readyReplicas");
	reg_varr(&v, st, "conditions");
}

static void workload_prepare_create(cJSON *obj)
{
	reg_reset_status(obj);
}

static void cell_selector(cJSON *cells, const cJSON *sel)
{
	struct buf b = { 0 };
	reg_format_selector(sel, &b);
	reg_cell_buf(cells, &b);
}

static const char *const replica_fields[] = {
	"replicas",        "readyReplicas",        "availableReplicas",
	"updatedReplicas", "fullyLabeledReplicas", "unavailableReplicas",
	"currentReplicas", "terminatingReplicas",  NULL
};

/* --- deployments ---------------------------------------------------------------------------- */

static void deploy_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return;
	reg_def_int(spec, "replicas", 1);
	cJSON *strategy = reg_obj(spec, "strategy", true);
	reg_def_str(strategy, "type", "RollingUpdate");
	if (!strcmp(reg_at_strz(strategy, "type"), "RollingUpdate")) {
		cJSON *ru = reg_obj(strategy, "rollingUpdate", true);
		if (ru && !reg_get(ru, "maxUnavailable"))
			reg_set(ru, "maxUnavailable", cJSON_CreateString("25%"));
		if (ru && !reg_get(ru, "maxSurge"))
			reg_set(ru, "maxSurge", cJSON_CreateString("25%"));
	}
	reg_def_int(spec, "revisionHistoryLimit", 10);
	reg_def_int(spec, "progressDeadlineSeconds", 600);
	reg_template_defaults(reg_obj(spec, "template", true));
}

static void deploy_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const types[] = { "Recreate", "RollingUpdate", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	if (!spec && reg_get(obj, "spec"))
		return;
	reg_vkey(&v, "spec");
	reg_vnonneg(&v, spec, "replicas", NULL);
	validate_selector_template(&v, spec, "deployment", REG_TEMPLATE_ALWAYS);
	const cJSON *strategy = reg_vobj(&v, spec, "strategy");
	if (strategy) {
		size_t m = reg_vkey(&v, "strategy");
		const char *type = reg_venum(&v, strategy, "type", true, types);
		const cJSON *ru = reg_vobj(&v, strategy, "rollingUpdate");
		if (type && !strcmp(type, "Recreate") && ru)
			reg_vforbidden(&v, "rollingUpdate",
			               "may not be specified when strategy `type` is 'Recreate'");
		else if (type && !strcmp(type, "RollingUpdate")) {
			if (!ru) {
				reg_vreq(&v, "rollingUpdate",
				         "this should be defaulted and never be nil");
			} else {
				size_t m2 = reg_vkey(&v, "rollingUpdate");
				validate_rolling(&v, ru);
				reg_vpop(&v, m2);
			}
		}
		reg_vpop(&v, m);
	}
	int64_t mrs = 0, pds;
	reg_vnonneg(&v, spec, "minReadySeconds", &mrs);
	reg_vnonneg(&v, spec, "revisionHistoryLimit", NULL);
	reg_vbool(&v, spec, "paused");
	if (reg_vnonneg(&v, spec, "progressDeadlineSeconds", &pds) && pds <= mrs)
		reg_vinvalid_int(&v, "progressDeadlineSeconds", pds,
		                 "must be greater than minReadySeconds");
	if (old)
		reg_vimmutable(&v, spec, reg_at_obj(old, "spec"), "selector");
}

static void deploy_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	validate_replica_status(obj, errs, replica_fields);
	UNUSED(old);
}

static const struct reg_column deploy_columns[] = {
	{ "Name", "string", "name", "Name of the deployment.", 0 },
	{ "Ready", "string", "", "Ready pods out of the desired number.", 0 },
	{ "Up-to-date", "string", "", "Pods running the latest template.", 0 },
	{ "Available", "string", "", "Pods ready for at least minReadySeconds.", 0 },
	{ "Age", "string", "", "Time since the deployment was created.", 0 },
	{ "Containers", "string", "", "Names of the template's containers.", 1 },
	{ "Images", "string", "", "Images of the template's containers.", 1 },
	{ "Selector", "string", "", "Label selector of the deployment's pods.", 1 },
};

static void deploy_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec"), *st = reg_at_obj(obj, "status");
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_fmt(cells, "%lld/%lld", (long long)reg_at_int(st, "readyReplicas", 0),
	             (long long)reg_at_int(spec, "replicas", 0));
	reg_cell_int(cells, reg_at_int(st, "updatedReplicas", 0));
	reg_cell_int(cells, reg_at_int(st, "availableReplicas", 0));
	reg_cell_age(cells, obj, now);
	reg_cell_containers(cells, reg_at(spec, "template.spec"));
	/* Deployments print the bare selector: "" for an empty one, "<invalid>" for a broken. */
	char sel[512];
	const cJSON *s = reg_get(spec, "selector");
	if (s && reg_selector_string(s, sel, sizeof(sel)) != 0)
		snprintf(sel, sizeof(sel), "<invalid>");
	else if (!s)
		sel[0] = '\0';
	reg_cell_str(cells, sel);
}

const struct reg_kind reg_kind_deployments = {
	.group = "apps",
	.version = "v1",
	.resource = "deployments",
	.kind = "Deployment",
	.list_kind = "DeploymentList",
	.singular = "deployment",
	.short_names = "deploy",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS | REG_SUB_SCALE,
	.storage = "apps/deployments",
	.scale_replicas = "spec.replicas",
	.scale_status_replicas = "status.replicas",
	.scale_selector = "spec.selector",
	.defaults = deploy_defaults,
	.prepare_create = workload_prepare_create,
	.validate = deploy_validate,
	.validate_status = deploy_validate_status,
	.columns = deploy_columns,
	.ncolumns = ARRAY_SIZE(deploy_columns),
	.row = deploy_row,
};

/* --- replicasets ---------------------------------------------------------------------------- */

static void rs_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	reg_def_int(spec, "replicas", 1);
	reg_template_defaults(reg_obj(spec, "template", true));
}

static void rs_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	if (!spec && reg_get(obj, "spec"))
		return;
	reg_vkey(&v, "spec");
	reg_vnonneg(&v, spec, "replicas", NULL);
	reg_vnonneg(&v, spec, "minReadySeconds", NULL);
	/* Upstream words the replicaset case as it does deployments'. */
	validate_selector_template(&v, spec, "deployment", REG_TEMPLATE_ALWAYS);
	if (old)
		reg_vimmutable(&v, spec, reg_at_obj(old, "spec"), "selector");
}

static void rs_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	validate_replica_status(obj, errs, replica_fields);
	UNUSED(old);
}

static const struct reg_column rs_columns[] = {
	{ "Name", "string", "name", "Name of the replica set.", 0 },
	{ "Desired", "integer", "", "Number of pods wanted.", 0 },
	{ "Current", "integer", "", "Number of pods that exist.", 0 },
	{ "Ready", "integer", "", "Number of pods that are ready.", 0 },
	{ "Age", "string", "", "Time since the replica set was created.", 0 },
	{ "Containers", "string", "", "Names of the template's containers.", 1 },
	{ "Images", "string", "", "Images of the template's containers.", 1 },
	{ "Selector", "string", "", "Label selector of the replica set's pods.", 1 },
};

static void rs_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec"), *st = reg_at_obj(obj, "status");
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_int(cells, reg_at_int(spec, "replicas", 0));
	reg_cell_int(cells, reg_at_int(st, "replicas", 0));
	reg_cell_int(cells, reg_at_int(st, "readyReplicas", 0));
	reg_cell_age(cells, obj, now);
	reg_cell_containers(cells, reg_at(spec, "template.spec"));
	cell_selector(cells, reg_get(spec, "selector"));
}

static bool rs_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	if (!strcmp(field, "status.replicas"))
		return reg_field_int(out, outlen, reg_at_int(obj, "status.replicas", 0));
	return false;
}

const struct reg_kind reg_kind_replicasets = {
	.group = "apps",
	.version = "v1",
	.resource = "replicasets",
	.kind = "ReplicaSet",
	.list_kind = "ReplicaSetList",
	.singular = "replicaset",
	.short_names = "rs",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS | REG_SUB_SCALE,
	.storage = "apps/replicasets",
	.scale_replicas = "spec.replicas",
	.scale_status_replicas = "status.replicas",
	.scale_selector = "spec.selector",
	.defaults = rs_defaults,
	.prepare_create = workload_prepare_create,
	.validate = rs_validate,
	.validate_status = rs_validate_status,
	.columns = rs_columns,
	.ncolumns = ARRAY_SIZE(rs_columns),
	.row = rs_row,
	.field = rs_field,
};

/* --- statefulsets --------------------------------------------------------------------------- */

static void claim_template_defaults(cJSON *pvc)
{
	if (!cJSON_IsObject(pvc))
		return;
	cJSON *meta = reg_obj(pvc, "metadata", true);
	if (meta && !cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"))
		cJSON_AddNullToObject(meta, "creationTimestamp");
	reg_kind_persistentvolumeclaims.defaults(pvc);
}

static void sts_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return;
	reg_def_str(spec, "podManagementPolicy", "OrderedReady");
	cJSON *us = reg_obj(spec, "updateStrategy", true);
	const cJSON *t = reg_get(us, "type");
	if (us && (!t || (cJSON_IsString(t) && !*t->valuestring))) {
		reg_set(us, "type", cJSON_CreateString("RollingUpdate"));
		reg_obj(us, "rollingUpdate", true);
	}
	if (!strcmp(reg_at_strz(us, "type"), "RollingUpdate"))
		reg_def_int(reg_obj(us, "rollingUpdate", false), "partition", 0);
	cJSON *ret = reg_obj(spec, "persistentVolumeClaimRetentionPolicy", true);
	reg_def_str(ret, "whenDeleted", "Retain");
	reg_def_str(ret, "whenScaled", "Retain");
	reg_def_int(spec, "replicas", 1);
	reg_def_int(spec, "revisionHistoryLimit", 10);
	reg_template_defaults(reg_obj(spec, "template", true));
	cJSON *pvc;
	const cJSON *vct = reg_get(spec, "volumeClaimTemplates");
	cJSON_ArrayForEach(pvc, (cJSON_IsArray(vct) ? (cJSON *)vct : NULL))
	{
		claim_template_defaults(pvc);
	}
}

static void sts_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const policies[] = { "OrderedReady", "Parallel", NULL };
	static const char *const types[] = { "RollingUpdate", "OnDelete", NULL };
	static const char *const retain[] = { "Retain", "Delete", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	if (!spec && reg_get(obj, "spec"))
		return;
	reg_vkey(&v, "spec");
	reg_venum(&v, spec, "podManagementPolicy", true, policies);
	const cJSON *us = reg_vobj(&v, spec, "updateStrategy");
	if (us) {
		size_t m = reg_vkey(&v, "updateStrategy");
		const char *type = reg_venum(&v, us, "type", true, types);
		const cJSON *ru = reg_vobj(&v, us, "rollingUpdate");
		if (type && !strcmp(type, "OnDelete") && ru)
			reg_vinvalid(&v, "rollingUpdate", ru,
			             "only allowed for updateStrategy 'RollingUpdate'");
		if (ru) {
			size_t m2 = reg_vkey(&v, "rollingUpdate");
			reg_vnonneg(&v, ru, "partition", NULL);
			if (reg_get(ru, "maxUnavailable")) {
				int64_t mu = int_or_percent(&v, ru, "maxUnavailable", true);
				if (mu == 0)
					reg_vinvalid(&v, "maxUnavailable",
					             reg_get(ru, "maxUnavailable"),
					             "must be greater than 0");
			}
			reg_vpop(&v, m2);
		}
		reg_vpop(&v, m);
	}
	const cJSON *ret = reg_vobj(&v, spec, "persistentVolumeClaimRetentionPolicy");
	if (ret) {
		size_t m = reg_vkey(&v, "persistentVolumeClaimRetentionPolicy");
		reg_venum(&v, ret, "whenDeleted", false, retain);
		reg_venum(&v, ret, "whenScaled", false, retain);
		reg_vpop(&v, m);
	}
	reg_vnonneg(&v, spec, "replicas", NULL);
	reg_vnonneg(&v, spec, "minReadySeconds", NULL);
	reg_vnonneg(&v, spec, "revisionHistoryLimit", NULL);
	const char *svc = reg_vstr(&v, spec, "serviceName");
	if (svc && *svc)
		reg_vdns_label(&v, "serviceName", svc);
	const cJSON *ord = reg_vobj(&v, spec, "ordinals");
	if (ord) {
		size_t m = reg_vkey(&v, "ordinals");
		reg_vnonneg(&v, ord, "start", NULL);
		reg_vpop(&v, m);
	}
	validate_selector_template(&v, spec, "statefulset", REG_TEMPLATE_ALWAYS);
	const cJSON *vct = reg_varr(&v, spec, "volumeClaimTemplates"), *pvc;
	int i = 0;
	cJSON_ArrayForEach(pvc, vct)
	{
		size_t m = reg_vkey(&v, "volumeClaimTemplates");
		reg_vidx(&v, i++);
		struct reg_errors sub = { 0 };
		reg_kind_persistentvolumeclaims.validate(pvc, NULL, &sub);
		for (size_t k = 0; k < sub.n; k++) {
			char f[300];
			snprintf(f, sizeof(f), "%.120s.%.120s", v.path, sub.v[k].field);
			reg_err(errs, sub.v[k].type, f, "%s", sub.v[k].message);
		}
		reg_errors_free(&sub);
		const char *name = reg_at_str(pvc, "metadata.name");
		if (!name || !*name)
			reg_vreq(&v, "metadata.name", NULL);
		reg_vpop(&v, m);
	}
	const cJSON *ospec = reg_at_obj(old, "spec");
	if (old && ospec) {
		/* Only these may change; everything else in spec is fixed at creation. */
		static const char *const mutable_fields[] = {
			"replicas",
			"ordinals",
			"template",
			"updateStrategy",
			"minReadySeconds",
			"persistentVolumeClaimRetentionPolicy",
			"revisionHistoryLimit"
		};
		cJSON *a = cJSON_Duplicate(spec, true), *b = cJSON_Duplicate(ospec, true);
		for (size_t k = 0; k < ARRAY_SIZE(mutable_fields); k++) {
			cJSON_DeleteItemFromObjectCaseSensitive(a, mutable_fields[k]);
			cJSON_DeleteItemFromObjectCaseSensitive(b, mutable_fields[k]);
		}
		if (!reg_json_equal(a, b))
			reg_vforbidden(
			    &v, NULL,
			    "updates to statefulset spec for fields other than 'replicas', "
			    "'ordinals', 'template', 'updateStrategy', "
			    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
			    "are forbidden");
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
}

static void sts_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	validate_replica_status(obj, errs, replica_fields);
	UNUSED(old);
}

static const struct reg_column sts_columns[] = {
	{ "Name", "string", "name", "Name of the stateful set.", 0 },
	{ "Ready", "string", "", "Ready pods out of the desired number.", 0 },
	{ "Age", "string", "", "Time since the stateful set was created.", 0 },
	{ "Containers", "string", "", "Names of the template's containers.", 1 },
	{ "Images", "string", "", "Images of the template's containers.", 1 },
};

static void sts_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec");
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_fmt(cells, "%lld/%lld", (long long)reg_at_int(obj, "status.readyReplicas", 0),
	             (long long)reg_at_int(spec, "replicas", 0));
	reg_cell_age(cells, obj, now);
	reg_cell_containers(cells, reg_at(spec, "template.spec"));
}

const struct reg_kind reg_kind_statefulsets = {
	.group = "apps",
	.version = "v1",
	.resource = "statefulsets",
	.kind = "StatefulSet",
	.list_kind = "StatefulSetList",
	.singular = "statefulset",
	.short_names = "sts",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS | REG_SUB_SCALE,
	.storage = "apps/statefulsets",
	.scale_replicas = "spec.replicas",
	.scale_status_replicas = "status.replicas",
	.scale_selector = "spec.selector",
	.defaults = sts_defaults,
	.prepare_create = workload_prepare_create,
	.validate = sts_validate,
	.validate_status = sts_validate_status,
	.columns = sts_columns,
	.ncolumns = ARRAY_SIZE(sts_columns),
	.row = sts_row,
};

/* --- daemonsets ----------------------------------------------------------------------------- */

static void ds_defaults(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return;
	cJSON *us = reg_obj(spec, "updateStrategy", true);
	reg_def_str(us, "type", "RollingUpdate");
	if (!strcmp(reg_at_strz(us, "type"), "RollingUpdate")) {
		cJSON *ru = reg_obj(us, "rollingUpdate", true);
		if (ru && !reg_get(ru, "maxUnavailable"))
			reg_set(ru, "maxUnavailable", cJSON_CreateNumber(1));
		if (ru && !reg_get(ru, "maxSurge"))
			reg_set(ru, "maxSurge", cJSON_CreateNumber(0));
	}
	reg_def_int(spec, "revisionHistoryLimit", 10);
	reg_template_defaults(reg_obj(spec, "template", true));
}

static void ds_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const types[] = { "RollingUpdate", "OnDelete", NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	if (!spec && reg_get(obj, "spec"))
		return;
	reg_vkey(&v, "spec");
	validate_selector_template(&v, spec, "daemonset", REG_TEMPLATE_ALWAYS);
	const cJSON *us = reg_vobj(&v, spec, "updateStrategy");
	if (us) {
		size_t m = reg_vkey(&v, "updateStrategy");
		const char *type = reg_venum(&v, us, "type", true, types);
		const cJSON *ru = reg_vobj(&v, us, "rollingUpdate");
		if (type && !strcmp(type, "RollingUpdate") && ru) {
			size_t m2 = reg_vkey(&v, "rollingUpdate");
			validate_rolling(&v, ru);
			reg_vpop(&v, m2);
		}
		reg_vpop(&v, m);
	}
	reg_vnonneg(&v, spec, "minReadySeconds", NULL);
	reg_vnonneg(&v, spec, "revisionHistoryLimit", NULL);
	if (old)
		reg_vimmutable(&v, spec, reg_at_obj(old, "spec"), "selector");
}

static void ds_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	static const char *const fields[] = { "currentNumberScheduled",
		                              "numberMisscheduled",
		                              "desiredNumberScheduled",
		                              "numberReady",
		                              "updatedNumberScheduled",
		                              "numberAvailable",
		                              "numberUnavailable",
		                              "collisionCount",
		                              NULL };
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *st = reg_vobj(&v, obj, "status");
	reg_vkey(&v, "status");
	for (int i = 0; fields[i]; i++)
		reg_vnonneg(&v, st, fields[i], NULL);
	reg_vnonneg(&v, st, "observedGeneration", NULL);
	UNUSED(old);
}

static const struct reg_column ds_columns[] = {
	{ "Name", "string", "name", "Name of the daemon set.", 0 },
	{ "Desired", "integer", "", "Nodes that should run the daemon pod.", 0 },
	{ "Current", "integer", "", "Nodes running at least one daemon pod.", 0 },
	{ "Ready", "integer", "", "Nodes whose daemon pod is ready.", 0 },
	{ "Up-to-date", "integer", "", "Nodes running the latest template.", 0 },
	{ "Available", "integer", "", "Nodes whose daemon pod is available.", 0 },
	{ "Node Selector", "string", "", "Node labels the pods are limited to.", 0 },
	{ "Age", "string", "", "Time since the daemon set was created.", 0 },
	{ "Containers", "string", "", "Names of the template's containers.", 1 },
	{ "Images", "string", "", "Images of the template's containers.", 1 },
	{ "Selector", "string", "", "Label selector of the daemon set's pods.", 1 },
};

static void ds_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec"), *st = reg_at_obj(obj, "status");
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	static const char *const counts[] = { "desiredNumberScheduled", "currentNumberScheduled",
		                              "numberReady", "updatedNumberScheduled",
		                              "numberAvailable" };
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		reg_cell_int(cells, reg_at_int(st, counts[i], 0));
	struct buf ns = { 0 };
	reg_format_labels(reg_at_obj(spec, "template.spec.nodeSelector"), &ns);
	reg_cell_buf(cells, &ns);
	reg_cell_age(cells, obj, now);
	reg_cell_containers(cells, reg_at(spec, "template.spec"));
	cell_selector(cells, reg_get(spec, "selector"));
}

const struct reg_kind reg_kind_daemonsets = {
	.group = "apps",
	.version = "v1",
	.resource = "daemonsets",
	.kind = "DaemonSet",
	.list_kind = "DaemonSetList",
	.singular = "daemonset",
	.short_names = "ds",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS,
	.storage = "apps/daemonsets",
	.defaults = ds_defaults,
	.prepare_create = workload_prepare_create,
	.validate = ds_validate,
	.validate_status = ds_validate_status,
	.columns = ds_columns,
	.ncolumns = ARRAY_SIZE(ds_columns),
	.row = ds_row,
};

/* --- controllerrevisions -------------------------------------------------------------------- */

static void cr_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	if (!reg_get(obj, "data") && !old)
		reg_vreq(&v, "data", "data is mandatory");
	int64_t rev;
	if (!reg_vint(&v, obj, "revision", &rev))
		rev = 0;
	if (rev < 0)
		reg_vinvalid_int(&v, "revision", rev, "must be greater than or equal to 0");
	if (old)
		reg_vimmutable(&v, obj, old, "data");
}

static const struct reg_column cr_columns[] = {
	{ "Name", "string", "name", "Name of the controller revision.", 0 },
	{ "Controller", "string", "", "The object that owns the revision, as kind.group/name.", 0 },
	{ "Revision", "string", "", "Revision number of the state it records.", 0 },
	{ "Age", "string", "", "Time since the revision was created.", 0 },
};

static void cr_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *ref;
	char owner[512] = "<none>";
	cJSON_ArrayForEach(ref, reg_at_arr(obj, "metadata.ownerReferences"))
	{
		if (!reg_at_bool(ref, "controller", false))
			continue;
		/* kind.group/name in lower case, e.g. statefulset.apps/web. */
		const char *av = reg_at_strz(ref, "apiVersion");
		const char *slash = strchr(av, '/');
		char kind[256];
		if (slash)
			snprintf(kind, sizeof(kind), "%s.%.*s", reg_at_strz(ref, "kind"),
			         (int)(slash - av), av);
		else
			snprintf(kind, sizeof(kind), "%s", reg_at_strz(ref, "kind"));
		for (char *p = kind; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		snprintf(owner, sizeof(owner), "%s/%s", kind, reg_at_strz(ref, "name"));
		break;
	}
	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_str(cells, owner);
	reg_cell_int(cells, reg_at_int(obj, "revision", 0));
	reg_cell_age(cells, obj, now);
}

const struct reg_kind reg_kind_controllerrevisions = {
	.group = "apps",
	.version = "v1",
	.resource = "controllerrevisions",
	.kind = "ControllerRevision",
	.list_kind = "ControllerRevisionList",
	.singular = "controllerrevision",
	.short_names = "",
	.categories = "",
	.namespaced = true,
	.storage = "apps/controllerrevisions",
	.validate = cr_validate,
	.columns = cr_columns,
	.ncolumns = ARRAY_SIZE(cr_columns),
	.row = cr_row,
};
