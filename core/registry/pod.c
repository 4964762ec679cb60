/* pod: the Pod strategy (defaults, admission-time fields, QoS, update rules), its table and fields. */
#include <stdio.h>
#include <string.h>

#include "core/registry/registry-internal.h"

/* --- create --------------------------------------------------------------------------------- */

static void pod_defaults(cJSON *obj)
{
	reg_podspec_defaults(reg_obj(obj, "spec", true), true);
}

/*
 * QoS as upstream computes it, by core/obj. Pod-level resources (spec.resources) are an alpha
 * feature upstream, off by default in 1.32: the containers alone decide.
 */
static const char *pod_qos(const cJSON *pod)
{
	if (!reg_get(reg_at_obj(pod, "spec"), "resources"))
		return obj_qos_name(obj_pod_qos(pod));
	cJSON *copy = cJSON_Duplicate(pod, true);
	cJSON_DeleteItemFromObjectCaseSensitive(reg_obj(copy, "spec", false), "resources");
	const char *name = obj_qos_name(obj_pod_qos(copy));
	cJSON_Delete(copy);
	return name;
}

/* Whether the pod already tolerates a NoExecute taint with this key. */
static bool tolerates(const cJSON *spec, const char *key)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, reg_at_arr(spec, "tolerations"))
	{
		const char *k = reg_at_strz(t, "key"), *op = reg_at_strz(t, "operator");
		const char *effect = reg_at_strz(t, "effect");
		if (*effect && strcmp(effect, "NoExecute") != 0)
			continue;
		if ((!*k && !strcmp(op, "Exists")) || !strcmp(k, key))
			return true;
	}
	return false;
}

static void add_toleration(cJSON *spec, const char *key)
{
	if (tolerates(spec, key))
		return;
	cJSON *tols = cJSON_GetObjectItemCaseSensitive(spec, "tolerations");
	if (!tols || cJSON_IsNull(tols)) {
		tols = cJSON_CreateArray();
		reg_set(spec, "tolerations", tols);
	}
	if (!cJSON_IsArray(tols))
		return;
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "effect", "NoExecute");
	cJSON_AddStringToObject(t, "key", key);
	cJSON_AddStringToObject(t, "operator", "Exists");
	cJSON_AddNumberToObject(t, "tolerationSeconds", 300);
	cJSON_AddItemToArray(tols, t);
}

/*
 * Create-time fields. Besides the strategy's status, a real cluster's default admission plugins
 * shape every pod, and kubectl users see their work: the default service account, priority 0
 * with PreemptLowerPriority, and 300s tolerations of not-ready/unreachable nodes.
 */
static void pod_prepare_create(cJSON *obj)
{
	cJSON *spec = reg_obj(obj, "spec", true);
	if (!spec)
		return;
	reg_def_str(spec, "serviceAccountName", "default");
	reg_def_str(spec, "serviceAccount", reg_at_strz(spec, "serviceAccountName"));
	/* The priority admission plugin: 0 without a class; the two classes every cluster has
	 * give their values (tug serves no PriorityClass objects, so there are no others). */
	const char *pc = reg_at_strz(spec, "priorityClassName");
	if (!*pc)
		reg_def_int(spec, "priority", 0);
	else if (!strcmp(pc, "system-node-critical"))
		reg_def_int(spec, "priority", 2000001000);
	else if (!strcmp(pc, "system-cluster-critical"))
		reg_def_int(spec, "priority", 2000000000);
	reg_def_str(spec, "preemptionPolicy", "PreemptLowerPriority");
	add_toleration(spec, "node.kubernetes.io/not-ready");
	add_toleration(spec, "node.kubernetes.io/unreachable");

	cJSON *status = cJSON_CreateObject();
	cJSON_AddStringToObject(status, "phase", "Pending");
	cJSON_AddStringToObject(status, "qosClass", pod_qos(obj));
	if (reg_count(reg_at_arr(spec, "schedulingGates")) > 0) {
		cJSON *conds = cJSON_AddArrayToObject(status, "conditions");
		cJSON *c = cJSON_CreateObject();
		cJSON_AddNullToObject(c, "lastProbeTime");
		cJSON_AddNullToObject(c, "lastTransitionTime");
		cJSON_AddStringToObject(c, "message",
		                        "Scheduling is blocked due to non-empty scheduling gates");
		cJSON_AddStringToObject(c, "reason", "SchedulingGated");
		cJSON_AddStringToObject(c, "status", "False");
		cJSON_AddStringToObject(c, "type", "PodScheduled");
		cJSON_AddItemToArray(conds, c);
	}
	reg_set(obj, "status", status);
}

/* --- validation ----------------------------------------------------------------------------- */

/* Every old toleration must still be there (updates may only add tolerations). */
static bool tolerations_only_added(const cJSON *now, const cJSON *old)
{
	const cJSON *o, *n;
	cJSON_ArrayForEach(o, reg_at_arr(old, "tolerations"))
	{
		bool found = false;
		cJSON_ArrayForEach(n, reg_at_arr(now, "tolerations"))
		{
			if (reg_json_equal(o, n)) {
				found = true;
				break;
			}
			/* tolerationSeconds of NoExecute tolerations may be shortened. */
			cJSON *a = cJSON_Duplicate(o, true), *b = cJSON_Duplicate(n, true);
			cJSON_DeleteItemFromObjectCaseSensitive(a, "tolerationSeconds");
			cJSON_DeleteItemFromObjectCaseSensitive(b, "tolerationSeconds");
			found = reg_json_equal(a, b);
			cJSON_Delete(a);
			cJSON_Delete(b);
			if (found)
				break;
		}
		if (!found)
			return false;
	}
	return true;
}

/* Copies the members updates may change from old into a copy of the new spec, so that what
 * remains must compare equal. */
static void neutralize(cJSON *spec, const cJSON *old)
{
	static const char *const lists[] = { "containers", "initContainers" };
	for (int l = 0; l < 2; l++) {
		const cJSON *oc = reg_at_arr(old, lists[l]);
		cJSON *nc = cJSON_GetObjectItemCaseSensitive(spec, lists[l]);
		if (!cJSON_IsArray(nc) || reg_count(oc) != reg_count(nc))
			continue;
		for (int i = 0; i < reg_count(nc); i++) {
			cJSON *c = cJSON_GetArrayItem(nc, i);
			const cJSON *img = reg_get(cJSON_GetArrayItem(oc, i), "image");
			if (cJSON_IsObject(c))
				reg_set(c, "image",
				        img ? cJSON_Duplicate(img, true) : cJSON_CreateNull());
		}
	}
	static const char *const free_fields[] = { "activeDeadlineSeconds", "tolerations",
		                                   "schedulingGates" };
	for (size_t i = 0; i < ARRAY_SIZE(free_fields); i++) {
		const cJSON *o = reg_get(old, free_fields[i]);
		reg_set(spec, free_fields[i], o ? cJSON_Duplicate(o, true) : cJSON_CreateNull());
	}
	/* The grace period may only be fixed up from a negative value (older clients) to 1. */
	int64_t was, now;
	if (reg_json_int(reg_get(old, "terminationGracePeriodSeconds"), &was) && was < 0 &&
	    reg_json_int(reg_get(spec, "terminationGracePeriodSeconds"), &now) && now == 1)
		reg_set(spec, "terminationGracePeriodSeconds", cJSON_CreateNumber((double)was));
}

static bool gates_only_removed(const cJSON *now, const cJSON *old)
{
	const cJSON *n, *o;
	cJSON_ArrayForEach(n, reg_at_arr(now, "schedulingGates"))
	{
		bool found = false;
		cJSON_ArrayForEach(o, reg_at_arr(old, "schedulingGates"))
		{
			found |= reg_json_equal(n, o);
		}
		if (!found)
			return false;
	}
	return true;
}

static void pod_validate(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *spec = reg_vobj(&v, obj, "spec");
	if (!spec) {
		if (!reg_get(obj, "spec"))
			reg_vreq(&v, "spec.containers", NULL);
		return;
	}
	size_t m = reg_vkey(&v, "spec");
	reg_podspec_validate(&v, spec, REG_POD);
	const cJSON *ospec = reg_at_obj(old, "spec");
	if (old && ospec) {
		int64_t ads, oads;
		if (reg_json_int(reg_get(spec, "activeDeadlineSeconds"), &ads) &&
		    reg_json_int(reg_get(ospec, "activeDeadlineSeconds"), &oads) && ads > oads)
			reg_vinvalid_int(&v, "activeDeadlineSeconds", ads,
			                 "must be less than or equal to previous value");
		if (reg_get(ospec, "activeDeadlineSeconds") &&
		    !reg_get(spec, "activeDeadlineSeconds"))
			reg_vinvalid(&v, "activeDeadlineSeconds", NULL,
			             "must not update from a positive integer to nil value");
		if (!tolerations_only_added(spec, ospec))
			reg_vforbidden(&v, "tolerations",
			               "existing toleration can not be modified "
			               "except its tolerationSeconds");
		if (!gates_only_removed(spec, ospec))
			reg_vforbidden(&v, "schedulingGates",
			               "only deletion is allowed, but found new scheduling gate");
		cJSON *a = cJSON_Duplicate(spec, true);
		neutralize(a, ospec);
		cJSON *b = cJSON_Duplicate(ospec, true);
		neutralize(b, ospec);
		if (!reg_json_equal(a, b))
			reg_vforbidden(
			    &v, NULL,
			    "pod updates may not change fields other than "
			    "`spec.containers[*].image`, `spec.initContainers[*].image`, "
			    "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions "
			    "to existing tolerations), `spec.terminationGracePeriodSeconds` "
			    "(from a negative value to 1) and removals from "
			    "`spec.schedulingGates`");
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
	reg_vpop(&v, m);
}

static void pod_validate_status(const cJSON *obj, const cJSON *old, struct reg_errors *errs)
{
	struct reg_vctx v;
	reg_vinit(&v, errs, NULL);
	const cJSON *st = reg_vobj(&v, obj, "status");
	if (!st)
		return;
	reg_vkey(&v, "status");
	const char *s;
	if ((s = reg_vstr(&v, st, "nominatedNodeName")) && *s)
		reg_vdns_subdomain(&v, "nominatedNodeName", s);
	if ((s = reg_vstr(&v, st, "podIP")) && *s && !reg_is_ip(s))
		reg_vinvalid_str(&v, "podIP", s, "must be a valid IP address");
	if ((s = reg_vstr(&v, st, "hostIP")) && *s && !reg_is_ip(s))
		reg_vinvalid_str(&v, "hostIP", s, "must be a valid IP address");
	const cJSON *ips = reg_varr(&v, st, "podIPs"), *ip;
	int i = 0;
	cJSON_ArrayForEach(ip, ips)
	{
		size_t m = reg_vkey(&v, "podIPs");
		reg_vidx(&v, i++);
		const char *a = reg_vstr(&v, ip, "ip");
		if (!a || !reg_is_ip(a))
			reg_vinvalid_str(&v, "ip", a ? a : "", "must be a valid IP address");
		reg_vpop(&v, m);
	}
	reg_varr(&v, st, "conditions");
	reg_varr(&v, st, "containerStatuses");
	reg_varr(&v, st, "initContainerStatuses");
	const char *node = reg_at_str(obj, "spec.nodeName"),
	           *onode = reg_at_str(old, "spec.nodeName");
	if (old && onode && *onode && (!node || strcmp(node, onode) != 0)) {
		/* Upstream names it under status, although it lives in spec. */
		reg_vforbidden(&v, "nodeName", "may not be changed by a status update");
	}
}

/* --- table ---------------------------------------------------------------------------------- */

static const struct reg_column pod_columns[] = {
	{ "Name", "string", "name", "Name of the pod, unique in its namespace.", 0 },
	{ "Ready", "string", "", "Containers ready to serve, out of those that should be.", 0 },
	{ "Status", "string", "", "Summary of the pod's state, from its phase and containers.", 0 },
	{ "Restarts", "string", "", "Container restarts so far, and how long since the last.", 0 },
	{ "Age", "string", "", "Time since the pod was created.", 0 },
	{ "IP", "string", "", "The pod's IP address.", 1 },
	{ "Node", "string", "", "The node the pod is bound to.", 1 },
	{ "Nominated Node", "string", "", "The node preemption made room on, if any.", 1 },
	{ "Readiness Gates", "string", "", "Readiness gates that are true, out of all.", 1 },
};

static bool cond_true(const cJSON *status, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, reg_at_arr(status, "conditions"))
	{
		if (!strcmp(reg_at_strz(c, "type"), type))
			return !strcmp(reg_at_strz(c, "status"), "True");
	}
	return false;
}

static bool restartable_init(const cJSON *spec, const char *name)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, reg_at_arr(spec, "initContainers"))
	{
		if (!strcmp(reg_at_strz(c, "name"), name))
			return !strcmp(reg_at_strz(c, "restartPolicy"), "Always");
	}
	return false;
}

/* Latest lastState.terminated.finishedAt, the "(5m ago)" of RESTARTS. */
static void note_restart(const cJSON *cs, int64_t *last)
{
	int64_t t;
	const char *fin = reg_at_str(cs, "lastState.terminated.finishedAt");
	if (reg_get(reg_at(cs, "lastState"), "terminated") && fin && reg_parse_time(fin, &t) &&
	    t > *last)
		*last = t;
}

/* The pod's first IP. The older single podIP wins when the two disagree: upstream's conversion
 * takes it as authoritative, for old kubelets. */
static const char *pod_ip(const cJSON *status)
{
	const char *ip = reg_at_str(status, "podIP");
	if (ip && *ip)
		return ip;
	return reg_at_str(cJSON_GetArrayItem(reg_at_arr(status, "podIPs"), 0), "ip");
}

/* The STATUS column: phase or reason, overridden by what the containers are doing, in the
 * order kubectl users know (init progress, waiting reasons, terminations, Terminating). */
static void pod_row(const cJSON *obj, int64_t now, cJSON *cells)
{
	const cJSON *spec = reg_at_obj(obj, "spec"), *status = reg_at_obj(obj, "status");
	int64_t restarts = 0, init_restarts = 0;
	int total = reg_count(reg_at_arr(spec, "containers")), ready = 0;
	int64_t last = 0, init_last = 0;
	char reason[256];
	const char *phase = reg_at_strz(status, "phase");
	snprintf(reason, sizeof(reason), "%s", phase);
	if (*reg_at_strz(status, "reason"))
		snprintf(reason, sizeof(reason), "%s", reg_at_strz(status, "reason"));
	const cJSON *c;
	cJSON_ArrayForEach(c, reg_at_arr(status, "conditions"))
	{
		if (!strcmp(reg_at_strz(c, "type"), "PodScheduled") &&
		    !strcmp(reg_at_strz(c, "reason"), "SchedulingGated"))
			snprintf(reason, sizeof(reason), "SchedulingGated");
	}
	cJSON_ArrayForEach(c, reg_at_arr(spec, "initContainers"))
	{
		if (!strcmp(reg_at_strz(c, "restartPolicy"), "Always"))
			total++;
	}
	int ninit = reg_count(reg_at_arr(spec, "initContainers"));
	bool initializing = false;
	int i = 0;
	cJSON_ArrayForEach(c, reg_at_arr(status, "initContainerStatuses"))
	{
		int64_t rc = reg_at_int(c, "restartCount", 0);
		bool sidecar = restartable_init(spec, reg_at_strz(c, "name"));
		restarts += rc;
		note_restart(c, &last);
		if (sidecar) {
			init_restarts += rc;
			note_restart(c, &init_last);
		}
		const cJSON *term = reg_at_obj(c, "state.terminated");
		const cJSON *wait = reg_at_obj(c, "state.waiting");
		if (term && reg_at_int(term, "exitCode", 0) == 0) {
			i++;
			continue;
		}
		if (sidecar && reg_at_bool(c, "started", false)) {
			if (reg_at_bool(c, "ready", false))
				ready++;
			i++;
			continue;
		}
		if (term) {
			const char *r = reg_at_strz(term, "reason");
			if (!*r) {
				int64_t sig = reg_at_int(term, "signal", 0);
				if (sig)
					snprintf(reason, sizeof(reason), "Init:Signal:%lld",
					         (long long)sig);
				else
					snprintf(reason, sizeof(reason), "Init:ExitCode:%lld",
					         (long long)reg_at_int(term, "exitCode", 0));
			} else {
				snprintf(reason, sizeof(reason), "Init:%s", r);
			}
		} else if (wait && *reg_at_strz(wait, "reason") &&
		           strcmp(reg_at_strz(wait, "reason"), "PodInitializing") != 0) {
			snprintf(reason, sizeof(reason), "Init:%s", reg_at_strz(wait, "reason"));
		} else {
			snprintf(reason, sizeof(reason), "Init:%d/%d", i, ninit);
		}
		initializing = true;
		break;
	}
	if (!initializing || cond_true(status, "Initialized")) {
		restarts = init_restarts;
		last = init_last;
		bool running = false;
		const cJSON *list = reg_at_arr(status, "containerStatuses");
		for (int k = reg_count(list) - 1; k >= 0; k--) {
			c = cJSON_GetArrayItem(list, k);
			restarts += reg_at_int(c, "restartCount", 0);
			note_restart(c, &last);
			const cJSON *wait = reg_at_obj(c, "state.waiting");
			const cJSON *term = reg_at_obj(c, "state.terminated");
			if (wait && *reg_at_strz(wait, "reason")) {
				snprintf(reason, sizeof(reason), "%s", reg_at_strz(wait, "reason"));
			} else if (term && *reg_at_strz(term, "reason")) {
				snprintf(reason, sizeof(reason), "%s", reg_at_strz(term, "reason"));
			} else if (term) {
				int64_t sig = reg_at_int(term, "signal", 0);
				if (sig)
					snprintf(reason, sizeof(reason), "Signal:%lld",
					         (long long)sig);
				else
					snprintf(reason, sizeof(reason), "ExitCode:%lld",
					         (long long)reg_at_int(term, "exitCode", 0));
			} else if (reg_at_bool(c, "ready", false) &&
			           reg_at_obj(c, "state.running")) {
				running = true;
				ready++;
			}
		}
		/* A pod whose finished containers say Completed but that still runs one is not
		 * done. */
		if (!strcmp(reason, "Completed") && running)
			snprintf(reason, sizeof(reason), "%s",
			         cond_true(status, "Ready") ? "Running" : "NotReady");
	}
	bool deleting = reg_get(reg_at_obj(obj, "metadata"), "deletionTimestamp") != NULL;
	if (deleting && !strcmp(reg_at_strz(status, "reason"), "NodeLost"))
		snprintf(reason, sizeof(reason), "Unknown");
	else if (deleting && strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0)
		snprintf(reason, sizeof(reason), "Terminating");

	reg_cell_str(cells, reg_at_strz(obj, "metadata.name"));
	reg_cell_fmt(cells, "%d/%d", ready, total);
	reg_cell_str(cells, reason);
	if (restarts != 0 && last != 0) {
		char ago[32];
		reg_human_duration(now - last, ago, sizeof(ago));
		reg_cell_fmt(cells, "%lld (%s ago)", (long long)restarts, ago);
	} else {
		reg_cell_fmt(cells, "%lld", (long long)restarts);
	}
	reg_cell_age(cells, obj, now);

	const char *ip = pod_ip(status);
	const char *node = reg_at_strz(spec, "nodeName");
	const char *nominated = reg_at_strz(status, "nominatedNodeName");
	reg_cell_str(cells, ip && *ip ? ip : "<none>");
	reg_cell_str(cells, *node ? node : "<none>");
	reg_cell_str(cells, *nominated ? nominated : "<none>");
	const cJSON *gates = reg_at_arr(spec, "readinessGates");
	if (reg_count(gates) == 0) {
		reg_cell_str(cells, "<none>");
	} else {
		int yes = 0;
		const cJSON *g;
		cJSON_ArrayForEach(g, gates)
		{
			const char *type = reg_at_strz(g, "conditionType");
			cJSON_ArrayForEach(c, reg_at_arr(status, "conditions"))
			{
				if (!strcmp(reg_at_strz(c, "type"), type)) {
					yes += !strcmp(reg_at_strz(c, "status"), "True");
					break;
				}
			}
		}
		reg_cell_fmt(cells, "%d/%d", yes, reg_count(gates));
	}
}

static bool pod_field(const cJSON *obj, const char *field, char *out, size_t outlen)
{
	/* Old clients still say spec.host. */
	if (!strcmp(field, "spec.host"))
		field = "spec.nodeName";
	static const char *const plain[] = { "spec.nodeName",      "spec.restartPolicy",
		                             "spec.schedulerName", "spec.serviceAccountName",
		                             "status.phase",       "status.nominatedNodeName" };
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		if (!strcmp(field, plain[i]))
			return reg_field_out(out, outlen, reg_at_str(obj, plain[i]));
	if (!strcmp(field, "spec.hostNetwork"))
		return reg_field_out(
		    out, outlen, reg_at_bool(obj, "spec.hostNetwork", false) ? "true" : "false");
	if (!strcmp(field, "status.podIP"))
		return reg_field_out(out, outlen, pod_ip(reg_at_obj(obj, "status")));
	return false;
}

const struct reg_kind reg_kind_pods = {
	.group = "",
	.version = "v1",
	.resource = "pods",
	.kind = "Pod",
	.list_kind = "PodList",
	.singular = "pod",
	.short_names = "po",
	.categories = "all",
	.namespaced = true,
	.subresources = REG_SUB_STATUS | REG_SUB_BINDING | REG_SUB_EVICTION | REG_SUB_LOG |
	                REG_SUB_EXEC | REG_SUB_PROXY,
	.storage = "core/pods",
	.defaults = pod_defaults,
	.prepare_create = pod_prepare_create,
	.validate = pod_validate,
	.validate_status = pod_validate_status,
	.columns = pod_columns,
	.ncolumns = ARRAY_SIZE(pod_columns),
	.row = pod_row,
	.field = pod_field,
};
